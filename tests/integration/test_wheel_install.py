"""The built wheel works without the checkout: installed (not editable) into a fresh venv,
``echoarb replay`` of the bundled sample runs from a directory outside the repository.

The fresh venv gets only the wheel; its dependencies (faust, aiokafka, chdb, the Tansu
broker, ~1 GB) come from this test environment's site-packages through a ``.pth`` path
line, which adds the directory but runs none of its ``.pth`` hooks, so the editable
install there stays invisible and every ``echoarb`` and ``streams`` import comes from the
wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.paths import REPO

pytestmark = pytest.mark.integration

SOURCE_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".echoarb", ".*_cache", "bench", "tests"
)


def _run(
    cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{cmd[:4]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its ``bin``."""
    root = tmp_path_factory.mktemp("wheel")
    # Build from a copy of the source tree (links kept), so the build leaves nothing in the repo.
    source = root / "src"
    shutil.copytree(REPO, source, symlinks=True, ignore=SOURCE_IGNORE)
    dist = root / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)], cwd=root)
    (wheel,) = dist.glob("echoarb-*.whl")
    fresh = root / "venv"
    venv.EnvBuilder(with_pip=False).create(fresh)
    python = fresh / "bin" / "python"
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=root
        ).stdout.strip()
    )
    (site / "_echoarb_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--ignore-installed",
            str(wheel),
        ],
        cwd=root,
    )
    return fresh / "bin"


def _env() -> dict[str, str]:
    drop = ("KAFKA_BOOTSTRAP", "CLICKHOUSE_URL", "PYTHONPATH", "PAIRS_FILE", "DATA_DIR", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop}


def test_wheel_imports_from_the_venv_with_its_data(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import json, echoarb, streams, echoarb.resources as r, echoarb.sink.migrate as m;"
        "print(json.dumps({'echoarb': echoarb.__file__, 'streams': streams.__file__,"
        " 'schemas': sorted(p.name for p in r.SCHEMAS_DIR.iterdir()),"
        " 'pairs': r.EXAMPLE_PAIRS.is_file(), 'sample': r.SAMPLE_RECORDING.is_file(),"
        " 'migrations': len(m.load_migrations())}))"
    )
    found = json.loads(_run([str(installed / "python"), "-c", probe], cwd=tmp_path, env=_env()).stdout)
    venv_dir = str(installed.parent)
    assert found["echoarb"].startswith(venv_dir) and found["streams"].startswith(venv_dir)
    assert not found["echoarb"].startswith(str(REPO))
    assert "manifest.json" in found["schemas"] and "tick_batch.avsc" in found["schemas"]
    assert found["pairs"] and found["sample"]
    assert found["migrations"] == len(list((REPO / "echoarb" / "sink" / "migrations").glob("*.sql")))


def test_installed_replay_of_the_bundled_sample(installed: Path, tmp_path: Path) -> None:
    """``echoarb replay`` with no recording and no pairs: the bundled sample and example pairs."""
    out = tmp_path / "spreads.jsonl"
    result = _run(
        [str(installed / "echoarb"), "replay", "--out", str(out), "--speed", "0"],
        cwd=tmp_path,
        env=_env(),
        timeout=300,
    )
    assert "fed-rate-march" in result.stdout and "1.9043" in result.stdout
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert sum(e["executable"] for e in events) == 1
    # The default data dir is relative to the working directory: the run's state is here.
    assert (tmp_path / ".echoarb" / "clickhouse").is_dir()
    logs = list((tmp_path / ".echoarb" / "logs").glob("echoarb-replay-*.log"))
    checkout = (str(REPO / "echoarb"), str(REPO / "streams"))
    assert logs and not any(c in log.read_text(errors="replace") for log in logs for c in checkout)
