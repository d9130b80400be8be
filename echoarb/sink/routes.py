"""Which table each kind of record goes to, and fetched Kafka records -> buffer entries.

Pure: no client, no I/O. A ``Route`` bundles what the writer needs for one table (codec,
container framing, Python fallback row builder, staging table); ``entries_for`` is the only
per-record work the sink does on arrival, a check of the Confluent header.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from echoarb.sink.batches import Entries
from echoarb.sink.container import HEADER_SIZE, AvroContainer
from echoarb.sink.rows import Row, spread_staged_row, tick_count, tick_staged_row, window_staged_row
from echoarb.sink.schema import SPREADS_TABLE, STAGING_BY_TABLE, STAGING_COLUMNS, TICKS_TABLE, WINDOWS_TABLE
from echoarb.wire.codec import AvroCodec, CodecError, Codecs

if TYPE_CHECKING:
    from aiokafka.structs import ConsumerRecord

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
StagedBuilder = Callable[[Mapping[str, Any], str, int, int], Row]


@dataclass(frozen=True)
class Route:
    """How records of one kind reach their table: through ``staging``, whose view fills ``table``."""

    table: str
    codec: AvroCodec
    container: AvroContainer
    staged_row: StagedBuilder  # the Python fallback for a batch the view refused
    count: Callable[[bytes], int] | None  # rows a framed value yields; None: always one

    @property
    def staging(self) -> str:
        return STAGING_BY_TABLE[self.table]

    @property
    def staging_columns(self) -> tuple[tuple[str, str], ...]:
        return STAGING_COLUMNS[self.table]


def routes(codecs: Codecs) -> dict[str, Route]:
    """Route per target table."""
    found = (
        (SPREADS_TABLE, codecs.spread_event, spread_staged_row, None),
        (WINDOWS_TABLE, codecs.spread_window, window_staged_row, None),
        (TICKS_TABLE, codecs.tick_batch, tick_staged_row, tick_count),
    )
    return {
        table: Route(table, codec, AvroContainer(codec), staged, count)
        for table, codec, staged, count in found
    }


def framing_error(route: Route, value: bytes | None) -> str:
    """Why ``value`` is not a framed record of ``route`` (the codec's own words)."""
    try:
        route.codec.decode(value)
    except CodecError as exc:
        return str(exc)
    return f"{route.codec.name}: record is not in the expected Confluent framing"


def entries_for(route: Route, records: Sequence[Record], now: float) -> Entries:
    """Buffer entries for fetched records (of one partition): only the Confluent header is checked.

    Decoding and conversion happen in ClickHouse when the batch is inserted; a record whose
    framing is wrong is dead on arrival (the codec says why). Column-wise and in comprehensions:
    this runs once per record.
    """
    prefix, count = route.container.prefix, route.count
    records = list(records)
    bad = [r for r in records if (v := r.value) is None or len(v) <= HEADER_SIZE or not v.startswith(prefix)]
    dead = {r.offset: framing_error(route, r.value) for r in bad}
    if count is None:
        rows = [1] * len(records)
        if dead:
            rows = [0 if r.offset in dead else 1 for r in records]
    else:
        rows = [0 if r.offset in dead else count(r.value) for r in records]
    return Entries(records, rows, now, dead)
