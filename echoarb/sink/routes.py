"""Which table each kind of record goes to, and fetched Kafka records -> buffer entries.

Pure: no client, no I/O. A ``Route`` bundles what the writer needs for one table (codec,
container framing, Python fallback row builder, staging table); ``entries_for`` is the only
per-record work the sink does on arrival, a check of the Confluent header.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from echoarb.sink.batches import Entry
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


def entries_for(route: Route, records: Iterable[Record], now: float) -> list[Entry]:
    """Buffer entries for fetched records: only the Confluent header is checked here.

    Decoding and conversion happen in ClickHouse when the batch is inserted; a record whose
    framing is wrong is dead on arrival (the codec says why).
    """
    prefix, count = route.container.prefix, route.count
    entries: list[Entry] = []
    append = entries.append
    for record in records:
        value = record.value
        # container.framed, inlined: this loop runs once per record
        if value is not None and value.startswith(prefix) and len(value) > HEADER_SIZE:
            append(Entry(record.offset, record.timestamp, 1 if count is None else count(value), now, record))
        else:
            append(Entry(record.offset, record.timestamp, 0, now, record, framing_error(route, value)))
    return entries
