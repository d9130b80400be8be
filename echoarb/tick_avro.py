"""A hand-written Avro writer for ``TickBatch``, the one record type on the parse hot path.

fastavro's generic writer costs ~16 µs per tick here (schema-driven dispatch per field and
per level), more than parsing the frame. This writer knows the TickBatch layout, and
caches the bytes of what repeats: the pair/venue/outcome head of a tick, the status/flags
tail, fee rates, and whole ask ladders (the immutable ladder tuples that
``records.tick_to_record`` builds once per book ladder, see :func:`remember_ladder`).

It is an accelerator, never the reference: anything it does not recognise exactly (a
type fastavro would coerce or reject, a missing field that has a schema default, a number
out of range) raises :class:`Unsupported` and the caller falls back to fastavro, so the
bytes or the error are always fastavro's. ``load_codecs`` enables it only when the loaded
schema has exactly the layout below (:func:`matches`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_VENUES = ("kalshi", "polymarket", "manifold")
_STATUSES = ("open", "halted", "closed", "settled")

# The layout this writer encodes, as produced by :func:`_shape` of the parsed schema.
_LEVEL = ("record", (("price_micros", "long"), ("size_micros", "long")))
_TICK = (
    "record",
    (
        ("pair_id", "string"),
        ("venue", ("enum", _VENUES)),
        ("outcome", "string"),
        ("yes_asks", ("array", _LEVEL)),
        ("no_asks", ("array", _LEVEL)),
        ("event_ts", "long"),
        ("recv_ts", "long"),
        ("fee_rate_micros", "long"),
        ("status", ("enum", _STATUSES)),
        ("in_sync", "boolean"),
        ("real_money", "boolean"),
        ("seq", "long"),
    ),
)
TICK_BATCH_SHAPE = (
    "record",
    (
        ("venue", ("enum", _VENUES)),
        ("producer_id", "string"),
        ("watermark", "long"),
        ("end_of_stream", "boolean"),
        ("ticks", ("array", _TICK)),
    ),
)

_MIN_LONG = -(1 << 63)
_MAX_LONG = (1 << 63) - 1
_CACHE_MAX = 20_000
_VENUE_BYTES = {v: bytes((2 * i,)) for i, v in enumerate(_VENUES)}
_STATUS_BYTES = {s: bytes((2 * i,)) for i, s in enumerate(_STATUSES)}
_BOOL = {True: b"\x01", False: b"\x00"}
_SMALL = [bytes((z,)) for z in range(128)]  # varint of zigzag values < 128
_EMPTY_ARRAY = b"\x00"


class Unsupported(Exception):
    """The record is outside what this writer encodes exactly: use fastavro instead."""


# Ladder record tuples built by ``records.tick_to_record`` with their bytes: id -> (tuple,
# bytes). A tuple is immutable and its level dicts are shared and never mutated, so the bytes
# stay valid; the entry holds the tuple, which keeps its id from being reused. Tuples built
# elsewhere are simply not found here and are encoded field by field.
_known_ladders: dict[int, tuple[tuple[dict[str, int], ...], bytes]] = {}
_LADDERS_MAX = 20_000


def remember_ladder(records: tuple[dict[str, int], ...], level_bytes: Sequence[bytes]) -> None:
    """Record the encoding of a ladder tuple that nobody will mutate (see ``records``)."""
    if len(_known_ladders) >= _LADDERS_MAX:
        _known_ladders.clear()
    data = b"".join([_long(len(level_bytes)), *level_bytes, _EMPTY_ARRAY]) if level_bytes else _EMPTY_ARRAY
    _known_ladders[id(records)] = (records, data)


def _shape(node: Any, named: dict[str, Any]) -> Any:
    """Layout of a parsed schema: names, order and types only (docs and defaults dropped)."""
    if isinstance(node, str):
        return _shape(named[node], named) if node in named else node
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "record":
            named[node["name"]] = node
            return ("record", tuple((f["name"], _shape(f["type"], named)) for f in node["fields"]))
        if kind == "enum":
            named[node["name"]] = node
            return ("enum", tuple(node["symbols"]))
        if kind == "array":
            return ("array", _shape(node["items"], named))
        return _shape(kind, named)
    return ("unknown", repr(node))


def matches(parsed_schema: Any) -> bool:
    """True when ``parsed_schema`` (fastavro-parsed, logical types stripped) is the layout above."""
    try:
        return bool(_shape(parsed_schema, {}) == TICK_BATCH_SHAPE)
    except (KeyError, TypeError, RecursionError):  # not even record-shaped, or recursive
        return False


def _long(n: Any) -> bytes:
    """Avro long: zigzag then little-endian base-128 varint.

    Non-negative values below 2**41 (zigzag = 2n; epoch-ms timestamps until 2039, prices,
    sizes, counts) take unrolled branches: the generic loop costs ~1 µs a timestamp.
    """
    if type(n) is int and 0 <= n < 2199023255552:  # 2**41
        if n < 64:
            return _SMALL[n << 1]
        z = n << 1
        if z < 16384:
            return bytes(((z & 127) | 128, z >> 7))
        if z < 2097152:
            return bytes(((z & 127) | 128, (z >> 7 & 127) | 128, z >> 14))
        if z < 268435456:
            return bytes(((z & 127) | 128, (z >> 7 & 127) | 128, (z >> 14 & 127) | 128, z >> 21))
        if z < 34359738368:
            return bytes(
                ((z & 127) | 128, (z >> 7 & 127) | 128, (z >> 14 & 127) | 128, (z >> 21 & 127) | 128, z >> 28)
            )
        return bytes(
            (
                (z & 127) | 128,
                (z >> 7 & 127) | 128,
                (z >> 14 & 127) | 128,
                (z >> 21 & 127) | 128,
                (z >> 28 & 127) | 128,
                z >> 35,
            )
        )
    if type(n) is not int or not _MIN_LONG <= n <= _MAX_LONG:
        raise Unsupported
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z >= 128:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _string(s: Any) -> bytes:
    if type(s) is not str:
        raise Unsupported
    data = s.encode()
    return _long(len(data)) + data


def level_bytes_of(level: Any) -> bytes:
    """Encoding of one Level record; :class:`Unsupported` unless both fields are Avro longs."""
    if type(level) is not dict:
        raise Unsupported
    return _long(level["price_micros"]) + _long(level["size_micros"])


def _levels(levels: Any) -> bytes:
    """Bytes of an array of Level records (a list or tuple of ``dict``s)."""
    if not levels:
        return _EMPTY_ARRAY
    return b"".join([_long(len(levels)), *[level_bytes_of(lv) for lv in levels], _EMPTY_ARRAY])


class TickBatchWriter:
    """Encodes TickBatch records (no Confluent header); raises :class:`Unsupported` to defer."""

    def __init__(self) -> None:
        self._heads: dict[tuple[Any, Any, Any], bytes] = {}
        self._tails: dict[tuple[Any, Any, Any], bytes] = {}
        self._fees: dict[Any, bytes] = {}  # few distinct fee rates: never cleared

    def _ladder(self, levels: Any) -> bytes:
        kind = type(levels)
        if kind is not list and kind is not tuple:
            raise Unsupported  # fastavro rejects list subclasses: let it say so
        return _levels(levels)

    def _head(self, key: tuple[Any, Any, Any]) -> bytes:
        venue = _VENUE_BYTES.get(key[1]) if type(key[1]) is str else None
        if venue is None:
            raise Unsupported
        data = _string(key[0]) + venue + _string(key[2])
        if len(self._heads) >= _CACHE_MAX:
            self._heads.clear()
        self._heads[key] = data
        return data

    def _tail(self, key: tuple[Any, Any, Any]) -> bytes:
        status, in_sync, real_money = key
        if type(status) is not str or type(in_sync) is not bool or type(real_money) is not bool:
            raise Unsupported
        data = self._tails[key] = _STATUS_BYTES[status] + _BOOL[in_sync] + _BOOL[real_money]
        return data

    def encode(self, record: Any) -> bytes:
        """The Avro body of ``record``; :class:`Unsupported` (or any error) means: ask fastavro."""
        if type(record) is not dict:
            raise Unsupported
        venue = record["venue"]
        ticks = record["ticks"]
        eos = record["end_of_stream"]
        if type(venue) is not str or type(eos) is not bool:
            raise Unsupported
        if type(ticks) is not list and type(ticks) is not tuple:
            raise Unsupported
        parts = [
            _VENUE_BYTES[venue],
            _string(record["producer_id"]),
            _long(record["watermark"]),
            _BOOL[eos],
        ]
        if ticks:
            parts.append(_long(len(ticks)))
            heads, tails, fees, ladder, known = (
                self._heads,
                self._tails,
                self._fees,
                self._ladder,
                _known_ladders,
            )
            # Inlined cache look-ups: this loop is most of the encode time.
            for tick in ticks:
                if type(tick) is not dict:
                    raise Unsupported
                key = (tick["pair_id"], tick["venue"], tick["outcome"])
                head = heads.get(key)
                if head is None:
                    head = self._head(key)
                yes = tick["yes_asks"]
                hit = known.get(id(yes))
                yes_b = hit[1] if hit is not None and hit[0] is yes else ladder(yes)
                no = tick["no_asks"]
                hit = known.get(id(no))
                no_b = hit[1] if hit is not None and hit[0] is no else ladder(no)
                fee = tick["fee_rate_micros"]
                fee_b = fees.get(fee) if type(fee) is int else None
                if fee_b is None:
                    fee_b = fees[fee] = _long(fee)
                key = (tick["status"], tick["in_sync"], tick["real_money"])
                tail = tails.get(key)
                if tail is None:
                    tail = self._tail(key)
                # Both timestamps are 6-byte varints (2**34 <= ms < 2**41) until 2039: unrolled.
                ev = tick["event_ts"]
                if type(ev) is int and 17179869184 <= ev < 2199023255552:
                    z = ev << 1
                    ev_b = bytes(
                        (
                            (z & 127) | 128,
                            (z >> 7 & 127) | 128,
                            (z >> 14 & 127) | 128,
                            (z >> 21 & 127) | 128,
                            (z >> 28 & 127) | 128,
                            z >> 35,
                        )
                    )
                else:
                    ev_b = _long(ev)
                rc = tick["recv_ts"]
                if rc == ev and type(rc) is int:
                    rc_b = ev_b
                elif type(rc) is int and 17179869184 <= rc < 2199023255552:
                    z = rc << 1
                    rc_b = bytes(
                        (
                            (z & 127) | 128,
                            (z >> 7 & 127) | 128,
                            (z >> 14 & 127) | 128,
                            (z >> 21 & 127) | 128,
                            (z >> 28 & 127) | 128,
                            z >> 35,
                        )
                    )
                else:
                    rc_b = _long(rc)
                parts += (head, yes_b, no_b, ev_b, rc_b, fee_b, tail, _long(tick["seq"]))
        parts.append(_EMPTY_ARRAY)
        return b"".join(parts)
