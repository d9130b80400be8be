"""The corpus of real venue frames: loading, replaying by session, and one line per outcome.

Each ``<venue>.jsonl`` line is one frame or REST body exactly as a public source shows it
(venue API documentation, open-source adapters' and clients' test fixtures), with that
source named beside it: ``{"id", "session", "source", "via": "ws"|"rest", "path"?, "frame"}``.
Frames of one ``session`` go through one parser in file order (a delta after its snapshot);
every session starts with a fresh parser. ``describe`` turns a ``ParseResult`` into the
short text the tests pin, so any change in what a real frame produces shows as a diff.

Kalshi lifecycle types the parser handles without a real frame here (none found in public
sources as a capture or a venue example, only hand-written test inputs, which do not count):
``price_level_structure_updated`` and ``metadata_updated``. Two sources are named by what the
code index showed (it did not give their repository): an open-source Kalshi client's serde
fixtures (the file issue 13 quotes) and a consumer's constants marked as live captures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from echoarb.model import InstrumentQuote, Ladder
from echoarb.venues.kalshi.protocol import KalshiProtocol
from echoarb.venues.manifold.protocol import ManifoldProtocol
from echoarb.venues.parsing import ParseResult
from echoarb.venues.polymarket.protocol import PolymarketProtocol

HERE = Path(__file__).resolve().parent
RECV = 1_790_000_000_000  # 2026-09-21T12:53:20Z: the receive time of every corpus frame
PARSERS: dict[str, Any] = {
    "kalshi": KalshiProtocol,
    "polymarket": PolymarketProtocol,
    "manifold": ManifoldProtocol,
}


@dataclass(frozen=True, slots=True)
class RealFrame:
    id: str
    session: str
    source: str
    via: str
    path: str | None
    frame: str


def load(venue: str) -> list[RealFrame]:
    frames = []
    for line in (HERE / f"{venue}.jsonl").read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        frames.append(
            RealFrame(raw["id"], raw["session"], raw["source"], raw["via"], raw.get("path"), raw["frame"])
        )
    return frames


def replay(venue: str) -> Iterator[tuple[RealFrame, ParseResult]]:
    """Each frame with what its session's parser made of it."""
    parsers: dict[str, Any] = {}
    for frame in load(venue):
        parser = parsers.get(frame.session)
        if parser is None:
            parser = parsers[frame.session] = PARSERS[venue]()
        yield frame, parser.receive(frame.frame, RECV, source=frame.via, path=frame.path)


def _ladder(ladder: Ladder) -> str:
    if not ladder:
        return "-"
    best = ladder[0]
    return f"{best.price}x{best.size}/{len(ladder)}"


def _quote(q: InstrumentQuote) -> str:
    ts = "recv" if q.event_ts == RECV else str(q.event_ts)
    text = f"{q.instrument[:24]} yes={_ladder(q.buy_yes)} no={_ladder(q.buy_no)} ts={ts} {q.status}"
    if not q.in_sync:
        text += " out-of-sync"
    if q.close_ts:
        text += f" close={q.close_ts}"
    return text


def describe(result: ParseResult) -> list[str]:
    """The outcome of one frame, one line per item: quotes, errors, resyncs, ignored, ..."""
    out = [f"quote {_quote(q)}" for q in result.quotes]
    out += [f"error {e}" for e in result.errors]
    out += [f"resync {r[:24]}" for r in result.resync]
    out += [f"desync {d}" for d in result.desyncs]
    out += [f"ignored {i}" for i in result.ignored]
    if result.fallback_ts:
        out.append(f"receive-time fallback x{result.fallback_ts}")
    return out
