"""A deterministic corpus of venue frames, good and broken, and a canonical dump of what the
parsers and the normaliser make of it.

The bundled recording (``config/recordings/sample.jsonl``) gives realistic sessions; a seeded
mutator then replaces some frames by variants with one value swapped for a nasty one (null,
bool, NaN, out of range, too many decimals, wrong type...), one key dropped or duplicated, or
the text truncated. The dump spells every Decimal with ``repr`` (so exponents count) and every
error message in full: two implementations agree on the corpus only if they agree byte for
byte. ``test_parse_equivalence`` pins the digest that the original (pre-optimisation) parsers
produced.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from echoarb.ingest.frames import FrameHandler
from echoarb.model import InstrumentQuote, Tick
from echoarb.pairs import parse_pairs
from echoarb.venues.kalshi.protocol import KalshiProtocol
from echoarb.venues.manifold.protocol import ManifoldProtocol
from echoarb.venues.polymarket.protocol import PolymarketProtocol
from echoarb.venues.recording import RecordedFrame, read_recording

ROOT = Path(__file__).resolve().parents[2]
PAIRS_PATH = ROOT / "config" / "market_pairs.json"
SAMPLE_PATH = ROOT / "config" / "recordings" / "sample.jsonl"

NASTY = [
    "null",
    "true",
    "false",
    '"abc"',
    '""',
    "-1",
    "0",
    "1",
    '"0"',
    '"1"',
    '"1.5"',
    "1e999",
    "NaN",
    "-Infinity",
    '"NaN"',
    '"Infinity"',
    '" 0.5 "',
    "[]",
    "{}",
    '["0.5"]',
    "0.1234567",
    '"0.1234567"',
    '"0.4512345"',
    '"-0.00"',
    "-0.0",
    "0.5",
    '"0.5"',
    "0.99",
    '"0.01"',
    "57",
    '"57"',
    "1767225600",
    "1767225600123",
    "1767225600123456",
    "1767225600123456789",
    '"1767225600123"',
    '"2026-01-01T00:00:00Z"',
    '"2026-01-01T00:00:00.5+01:00"',
    '"2026-01-01"',
    '"1_000"',
    '"１"',
    "99999999999999999999999999999",
    '"\\u00e9"',
    '"\\ud800"',
    '"yes"',
    '"no"',
    '"BUY"',
    '"sell"',
    '"BID"',
    '"orderbook_snapshot"',
    '"orderbook_delta"',
    '"price_change"',
    '"book"',
    '"market_resolved"',
    '"broadcast"',
    '"error"',
    '"settled"',
    '"determined"',
    '"deactivated"',
    '"activated"',
    '[["0.5000","10.00"]]',
    '[["0.5000"]]',
    "[[50,10]]",
    '[{"price":"0.5","size":"10"}]',
    '[{"price":"0.5"}]',
]

_KEY = re.compile(r'"([A-Za-z_]+)":')
_SCALAR = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*|true|false|null')


def _mutate(text: str, rng: random.Random) -> str:
    """One random mutation of a JSON text (the result may well be invalid JSON)."""
    keys = list(_KEY.finditer(text))
    roll = rng.random()
    if not keys or roll < 0.04:
        return text[: rng.randint(0, len(text))]
    match = rng.choice(keys)
    start, end = match.span()
    if roll < 0.12:  # drop the key and its scalar value
        value = _SCALAR.match(text, end)
        if value is None:
            return text[:start] + '"dropped":' + text[end:]
        tail = value.end() + (1 if text[value.end() : value.end() + 1] == "," else 0)
        return text[:start] + text[tail:]
    if roll < 0.18:  # duplicate the key with a nasty value: the last one wins in JSON
        return text[:start] + match.group(0) + rng.choice(NASTY) + "," + text[start:]
    value = _SCALAR.match(text, end)
    if value is None:
        return text[:end] + rng.choice(NASTY) + "," + '"was":' + text[end:]
    return text[:end] + rng.choice(NASTY) + text[value.end() :]


def corpus(seed: int, rate: float) -> list[RecordedFrame]:
    """The bundled recording with about ``rate`` of its frames mutated (same seed, same corpus)."""
    rng = random.Random(seed)
    out: list[RecordedFrame] = []
    for frame in read_recording(SAMPLE_PATH):
        out.append(frame)
        if rng.random() < rate:
            text = frame.frame
            for _ in range(rng.randint(1, 2)):
                text = _mutate(text, rng)
            out.append(RecordedFrame(frame.venue, frame.recv_ts, text, frame.source, frame.path))
    return out


def _quote(q: InstrumentQuote) -> str:
    return repr((q.venue, q.instrument, q.buy_yes, q.buy_no, q.event_ts, q.recv_ts, q.status, q.in_sync))


def _tick(t: Tick) -> str:
    return repr(
        (
            t.pair_id,
            t.venue,
            t.yes_asks,
            t.no_asks,
            t.event_ts,
            t.recv_ts,
            t.fee_rate,
            t.outcome,
            t.status,
            t.in_sync,
            t.real_money,
            t.seq,
        )
    )


def dump(frames: list[RecordedFrame]) -> Iterator[str]:
    """One line per frame and stage: parser quotes/errors/resync, then handler ticks."""
    parsers: dict[str, Any] = {
        "kalshi": KalshiProtocol(),
        "polymarket": PolymarketProtocol(),
        "manifold": ManifoldProtocol(),
    }
    handler = FrameHandler(parse_pairs(json.loads(PAIRS_PATH.read_text(encoding="utf-8"))))
    for n, f in enumerate(frames):
        data: str | bytes = f.frame
        if n % 7 == 3:  # parsers take bytes too
            data = f.frame.encode()
        elif n % 97 == 5:  # ... and must reject bytes that are not UTF-8
            data = f.frame.encode()[:-2] + b"\xff" + f.frame.encode()[-2:]
        result = parsers[f.venue].receive(data, f.recv_ts, source=f.source, path=f.path)
        yield f"{n} P {[_quote(q) for q in result.quotes]} {result.errors} {result.resync}"
        outcome = handler.handle(f.venue, data, f.recv_ts, source=f.source, path=f.path)
        yield f"{n} H {[_tick(t) for t in outcome.ticks]} {outcome.errors} {outcome.resync}"


def digest(frames: list[RecordedFrame]) -> str:
    h = hashlib.sha256()
    for line in dump(frames):
        h.update(line.encode("utf-8", "surrogatepass"))
        h.update(b"\n")
    return h.hexdigest()


if __name__ == "__main__":
    for seed in (1, 2, 3):
        frames = corpus(seed, 0.3)
        print(seed, len(frames), digest(frames))
