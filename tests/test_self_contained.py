"""The repository is self-contained: nothing points outside it, and every doc it cites exists."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Generated, installed or cached: not the project's own text.
SKIP_DIRS = {
    ".git", ".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", ".echoarb", "__pycache__",
    "build", "dist", "echoarb.egg-info",
}  # fmt: skip
SKIP_SUFFIXES = {".pyc", ".jsonl", ".png", ".whl", ".gz"}
OUTSIDE = re.compile(r"(\.\./)+shared\b|/work/|\bshared/\w+\.md")
CITED_DOC = re.compile(r"\bdocs/([\w.-]+\.md)")


def _walk() -> Iterator[Path]:
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        yield from (Path(folder) / name for name in files)


def project_files() -> Iterator[Path]:
    """The files git would commit (tracked, or new and not ignored); a walk where git is missing."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        listed = ""
    names = [ROOT / name for name in listed.split("\0") if name] if listed else list(_walk())
    for path in names:
        if path.suffix not in SKIP_SUFFIXES and path.is_file() and path.name not in {".git", ".env"}:
            yield path


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return ""


def test_nothing_points_outside_the_repository() -> None:
    me = Path(__file__).resolve()
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in project_files()
        if path != me
        for n, line in enumerate(_text(path).splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert found == []


def test_every_cited_doc_exists() -> None:
    cited = {name for path in project_files() for name in CITED_DOC.findall(_text(path))}
    assert "edge.md" in cited  # the code does cite the docs
    missing = sorted(name for name in cited if not (ROOT / "docs" / name).is_file())
    assert missing == []
