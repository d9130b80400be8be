"""Where the tests find the repository's files (the product finds its own via ``echoarb.resources``)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "config" / "recordings" / "sample.jsonl"
PAIRS = REPO / "config" / "market_pairs.json"
