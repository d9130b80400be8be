# Two commands matter: `make demo` (run the pipeline on the bundled sample) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo live test setup lint clean bench system-deps chaos lock

# Debian packages the tests use as real parts (one list; append yours): chromium drives the
# board's browser test, prometheus scrapes the running services (its promtool checks
# docker/prometheus), docker-compose renders docker-compose.yml without a Docker engine.
SYSTEM_PACKAGES := chromium prometheus docker-compose

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/echoarb replay config/recordings/sample.jsonl --out .echoarb/spreads.jsonl --live

# The live stack on local venue simulators: broker, ingest, worker, sink and the board (Ctrl-C stops it).
live: $(STAMP)
	$(BIN)/echoarb up --simulate

# Installs missing SYSTEM_PACKAGES with apt-get as root, else names the command to run.
system-deps:
	.ci/system-deps.sh $(SYSTEM_PACKAGES)

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q

# The fault-injection tests alone (they run in `make test` too), with a table of each fault.
chaos: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -m chaos -p tests.chaos_report

# Benchmarks (embedded broker + ClickHouse, ~10 min): one table, JSON in bench/results/.
bench: $(STAMP)
	$(BIN)/python -m bench.run_all

# The image's pinned runtime dependencies (docker/requirements.lock) after a dependency change.
lock: $(STAMP)
	$(BIN)/python docker/lock.py

# The same checks as .pre-commit-config.yaml and CI: ruff (lint + format) and mypy --strict.
LINT_PATHS := echoarb streams bench tests
lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy $(LINT_PATHS)

clean:
	rm -rf .echoarb .pytest_cache
