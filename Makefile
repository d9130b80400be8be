# Two commands matter: `make demo` (run the pipeline on the bundled sample) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup lint clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/echoarb replay config/recordings/sample.jsonl --out .echoarb/spreads.jsonl --live

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Benchmarks (embedded broker + ClickHouse, ~10 min): one table, JSON in bench/results/.
bench: $(STAMP)
	$(BIN)/python -m bench.run_all

lint: $(STAMP)
	$(BIN)/ruff check echoarb streams tests
	$(BIN)/ruff format --check echoarb streams tests

clean:
	rm -rf .echoarb .pytest_cache
