"""The README's module map names every module of the tree (a new module updates the map)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.unit


def test_every_module_is_in_the_readme_map() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("```\necho" + "arb/            model.py")  # the map's code block
    block = readme[start : readme.index("```", start + 3)]
    missing = []
    for package in ("echoarb", "streams"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if path.name in ("__init__.py", "__main__.py") or "migrations" in rel.parts:
                continue
            if path.name not in block:
                missing.append(str(rel))
    assert not missing, f"modules missing from the README's map: {missing}"
    for folder in sorted(p for p in (ROOT / "echoarb").iterdir() if (p / "__init__.py").is_file()):
        assert f"{folder.name}/" in block, f"echoarb/{folder.name}/ missing from the README's map"
