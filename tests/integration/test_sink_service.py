"""The sink against a real Kafka-protocol broker (embedded Tansu) and real ClickHouse (chdb)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from echoarb.kafka import tansu_compat
from echoarb.settings import Settings
from echoarb.sink.client import SinkError
from echoarb.sink.service import SinkService
from echoarb.wire.codec import Codecs, load_codecs

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

# Tansu: JoinGroup is held for half the session timeout and fetches for their full max wait.
FAST_CONSUMER = tansu_compat.aiokafka_consumer_kwargs()
SPREAD_PARTITIONS = 4
WINDOW_PARTITIONS = 2


def spread_event(i: int) -> dict[str, Any]:
    return {
        "id": f"ev-{i}",
        "pair_id": f"pair-{i % 7}",
        "kind": "binary",
        "legs": [
            {"venue": "kalshi", "side": "yes", "best_price_micros": 400_000 + i, "size_micros": 1_000_000},
            {"venue": "polymarket", "side": "no", "avg_price_micros": 550_000, "size_micros": 1_000_000},
        ],
        "gross_edge_micros": 50_000 - i,
        "size_micros": 1_000_000 + i,
        "cost_micros": 950_000,
        "fees_micros": 1_234,
        "net_profit_micros": 48_766 - i,
        "net_edge_micros": 48_766 - i,
        "executable": i % 2 == 0,
        "quote_age_ms": i,
        "event_ts": 1_733_000_000_000 + i,
        "computed_at": 1_733_000_000_500 + i,
    }


def spread_window(i: int) -> dict[str, Any]:
    return {
        "pair_id": f"pair-{i}",
        "window": "tumbling",
        "window_start": 1_733_000_000_000,
        "window_end": 1_733_000_060_000,
        "events": 10 + i,
        "max_net_edge_micros": None if i == 0 else 1_000 * i,
        "best_size_micros": 5_000_000,
        "executable_ms": 100 * i,
        "emitted_at": 1_733_000_061_000,
    }


@pytest.fixture
async def topics(broker: Any) -> Settings:
    """Settings with fresh topic names (the broker is shared by the whole session)."""
    suffix = uuid.uuid4().hex[:8]
    names: dict[str, Any] = {
        "topic_spreads": f"spreads-{suffix}",
        "topic_spread_windows": f"spread-windows-{suffix}",
        "topic_dead_letter": f"dead-letter-{suffix}",
    }
    settings = Settings(**names)
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(settings.topic_spreads, SPREAD_PARTITIONS, 1),
                NewTopic(settings.topic_spread_windows, WINDOW_PARTITIONS, 1),
                NewTopic(settings.topic_dead_letter, 1, 1),
            ]
        )
    finally:
        await admin.close()
    return settings


@pytest.fixture
async def producer(broker: Any) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
    await producer.start()
    yield producer
    await producer.stop()


async def produce(
    producer: AIOKafkaProducer, topic: str, values: list[tuple[bytes, bytes]], **kwargs: Any
) -> dict[TopicPartition, int]:
    """Send (key, value) pairs; the end offset per partition from the acks (Tansu's ListOffsets is off)."""
    futures = [await producer.send(topic, value=value, key=key, **kwargs) for key, value in values]
    ends: dict[TopicPartition, int] = {}
    for meta in await asyncio.gather(*futures):
        tp = TopicPartition(meta.topic, meta.partition)
        ends[tp] = max(ends.get(tp, 0), meta.offset + 1)
    return ends


@contextlib.asynccontextmanager
async def running(service: SinkService) -> AsyncIterator[asyncio.Task[None]]:
    await service.start()
    task = asyncio.create_task(service.run())
    try:
        yield task
    finally:
        await service.stop()
        await asyncio.wait_for(task, 10)


def make_service(
    settings: Settings,
    broker: Any,
    codecs: Codecs,
    client_factory: Callable[[], Any],
    database: str,
    **kwargs: Any,
) -> SinkService:
    """A sink with fast timings and its own consumer group (unless ``group_id`` is given)."""
    kwargs.setdefault("group_id", f"sink-{uuid.uuid4().hex[:8]}")
    return SinkService(
        settings,
        broker.bootstrap,
        codecs,
        client_factory=client_factory,
        database=database,
        consumer_kwargs=FAST_CONSUMER,
        flush_interval_s=0.05,
        backoff_initial_s=0.05,
        backoff_max_s=0.2,
        **kwargs,
    )


async def test_sink_stores_rows_dead_letters_garbage_and_commits(
    broker: Any, topics: Settings, producer: AIOKafkaProducer, chdb_client: Client, ch_database: str
) -> None:
    settings = topics
    codecs = load_codecs()
    n = 500
    ends = await produce(
        producer,
        settings.topic_spreads,
        [(f"pair-{i % 7}".encode(), codecs.spread_event.encode(spread_event(i))) for i in range(n)],
    )
    garbage_ends = await produce(
        producer,
        settings.topic_spreads,
        [(b"junk", b"\x00\x00\x00\x03\xe9not avro")],
        headers=[("trace", b"t-1")],
    )
    for tp, end in garbage_ends.items():
        ends[tp] = max(ends.get(tp, 0), end)
    ends.update(
        await produce(
            producer,
            settings.topic_spread_windows,
            [(f"pair-{i}".encode(), codecs.spread_window.encode(spread_window(i))) for i in range(5)],
        )
    )
    service = make_service(settings, broker, codecs, lambda: chdb_client, ch_database)
    async with running(service):
        await service.wait_committed(ends, timeout=30)
        assert {tp: service.committed[tp] for tp in ends} == ends

    assert service.dead_letters == 1
    assert service.spreads_inserted == n
    rows = chdb_client.query(
        f"SELECT count(), uniqExact(id), sum(size), countIf(executable), min(quote_age_ms), "
        f"max(quote_age_ms) FROM `{ch_database}`.spreads"
    ).result_rows
    expected_size = sum(spread_event(i)["size_micros"] for i in range(n))
    assert rows[0][:2] == (n, n)
    assert rows[0][2] == Decimal(expected_size).scaleb(-6)
    assert rows[0][3:] == (n // 2, 0, n - 1)
    # Kafka coordinates are stored: every (partition, offset) once, offsets within the end.
    coords = chdb_client.query(
        f"SELECT partition, max(offset), count() FROM `{ch_database}`.spreads GROUP BY partition"
    ).result_rows
    for partition, max_offset, _ in coords:
        assert max_offset < ends[TopicPartition(settings.topic_spreads, partition)]
    windows = chdb_client.query(
        f"SELECT pair_id, max_net_edge, executable_ms FROM `{ch_database}`.spread_windows ORDER BY pair_id"
    ).result_rows
    assert [(p, e) for p, e, _ in windows][:2] == [("pair-0", None), ("pair-1", Decimal("0.001"))]
    assert [ms for _, _, ms in windows] == [0, 100, 200, 300, 400]

    # The garbage record is on the dead-letter topic, raw, with the error headers.
    dead = AIOKafkaConsumer(
        settings.topic_dead_letter,
        bootstrap_servers=broker.bootstrap,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
    )
    await dead.start()
    try:
        record = await asyncio.wait_for(dead.getone(), 10)
    finally:
        await dead.stop()
    headers = dict(record.headers)
    garbage_tp = next(iter(garbage_ends))
    assert record.value == b"\x00\x00\x00\x03\xe9not avro"
    assert record.key == b"junk"
    assert headers["trace"] == b"t-1"
    assert headers["echoarb.error.stage"] == b"sink"
    assert headers["echoarb.error.topic"] == settings.topic_spreads.encode()
    assert headers["echoarb.error.partition"] == str(garbage_tp.partition).encode()
    assert headers["echoarb.error.offset"] == str(garbage_ends[garbage_tp] - 1).encode()
    assert b"schema id" in headers["echoarb.error.reason"]

    # The group's offsets are really committed on the broker.
    check = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=service.group_id, **FAST_CONSUMER)
    await check.start()
    try:
        for tp, end in ends.items():
            assert await check.committed(tp) == end
    finally:
        await check.stop()


class FlakyClient:
    """Wraps the real client; the first ``failures`` inserts raise, as a ClickHouse outage would."""

    def __init__(self, client: Client, failures: int, service: list[SinkService]) -> None:
        self._client = client
        self.failures = failures
        self.committed_while_failing: list[dict[TopicPartition, int]] = []
        self._service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def insert(self, *args: Any, **kwargs: Any) -> Any:
        if self.failures > 0:
            self.failures -= 1
            self.committed_while_failing.append(dict(self._service[0].committed))
            raise ConnectionError("ClickHouse is down (simulated)")
        return self._client.insert(*args, **kwargs)


async def test_records_refused_at_insert_are_dead_lettered_and_the_rest_stored(
    broker: Any, topics: Settings, producer: AIOKafkaProducer, chdb_client: Client, ch_database: str
) -> None:
    """Well-framed records whose body cannot be stored only fail when ClickHouse converts the
    batch: the sink converts that batch in Python, dead-letters exactly those, stores the rest."""
    settings = topics
    codecs = load_codecs()
    good = [codecs.spread_event.encode(spread_event(i)) for i in range(40)]
    too_big = codecs.spread_event.encode({**spread_event(40), "cost_micros": 10**18})
    cut_off = codecs.spread_event.encode(spread_event(41))[:-4]
    values = [*good[:20], too_big, *good[20:], cut_off]
    ends = await produce(producer, settings.topic_spreads, [(b"one-partition", v) for v in values])
    service = make_service(settings, broker, codecs, lambda: chdb_client, ch_database)
    async with running(service):
        await service.wait_committed(ends, timeout=30)
    assert service.dead_letters == 2
    assert service.spreads_inserted == 40
    assert service.writer is not None and service.writer.avro_failures >= 1
    db = ch_database
    assert chdb_client.command(f"SELECT uniqExact(id) FROM `{db}`.spreads") == 40
    assert chdb_client.command(f"SELECT sum(events) FROM `{db}`.pair_minute_stats") == 40
    dead = AIOKafkaConsumer(
        settings.topic_dead_letter, bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest"
    )
    await dead.start()
    try:
        reasons = [
            dict((await asyncio.wait_for(dead.getone(), 10)).headers)["echoarb.error.reason"]
            for _ in range(2)
        ]
    finally:
        await dead.stop()
    assert any(b"cost_micros" in r and b"does not fit" in r for r in reasons), reasons
    assert any(b"does not decode" in r for r in reasons), reasons


@pytest.mark.chaos("ClickHouse refuses inserts", "retried without commit, then resumes")
async def test_sink_retries_failed_inserts_without_committing_then_resumes(
    broker: Any, topics: Settings, producer: AIOKafkaProducer, chdb_client: Client, ch_database: str
) -> None:
    settings = topics
    codecs = load_codecs()
    first = await produce(
        producer,
        settings.topic_spreads,
        [(b"k", codecs.spread_event.encode(spread_event(i))) for i in range(50)],
    )
    holder: list[SinkService] = []
    flaky = FlakyClient(chdb_client, failures=0, service=holder)
    service = make_service(settings, broker, codecs, lambda: flaky, ch_database)
    holder.append(service)
    await service.start()
    flaky.failures = 3  # ClickHouse goes down after the schema is in place
    async with running(service):
        await service.wait_committed(first, timeout=30)
    assert service.store_failures == 3
    assert flaky.committed_while_failing == [{}, {}, {}]
    assert chdb_client.command(f"SELECT count() FROM `{ch_database}`.spreads") == 50

    # A new sink resumes after the committed offsets: only new records are stored.
    second = await produce(
        producer,
        settings.topic_spreads,
        [(b"k", codecs.spread_event.encode(spread_event(i))) for i in range(50, 80)],
    )
    resumed = make_service(
        settings, broker, codecs, lambda: chdb_client, ch_database, group_id=service.group_id
    )
    async with running(resumed):
        await resumed.wait_committed(second, timeout=30)
    assert resumed.spreads_inserted == 30
    got = chdb_client.query(f"SELECT uniqExact(id), count() FROM `{ch_database}`.spreads").result_rows
    assert got == [(80, 80)]


async def test_wait_committed_times_out(
    topics: Settings, broker: Any, chdb_client: Client, ch_database: str
) -> None:
    service = make_service(topics, broker, load_codecs(), lambda: chdb_client, ch_database)
    async with running(service):
        with pytest.raises(TimeoutError):
            await service.wait_committed({TopicPartition(topics.topic_spreads, 0): 1}, timeout=0.5)


async def test_start_fails_clearly_when_clickhouse_is_unreachable(topics: Settings, broker: Any) -> None:
    def unreachable() -> Any:
        raise SinkError("ClickHouse server unreachable at http://u:***@127.0.0.1:1/db: refused")

    service = make_service(topics, broker, load_codecs(), unreachable, "unused")
    with pytest.raises(SinkError, match="unreachable"):
        await service.start()
    await service.stop()  # idempotent after a failed start


async def test_sink_waits_for_clickhouse_at_start_then_catches_up(
    broker: Any, topics: Settings, producer: AIOKafkaProducer, chdb_client: Client, ch_database: str
) -> None:
    """ClickHouse is down when the sink starts: it retries with backoff, consumes nothing, then catches up."""
    settings = topics
    codecs = load_codecs()
    ends = await produce(
        producer,
        settings.topic_spreads,
        [(f"pair-{i % 7}".encode(), codecs.spread_event.encode(spread_event(i))) for i in range(300)],
    )
    calls: list[dict[TopicPartition, int]] = []
    holder: list[SinkService] = []

    def factory() -> Client:
        calls.append(dict(holder[0].committed))
        if len(calls) <= 4:
            raise SinkError("ClickHouse server unreachable at http://127.0.0.1:1/db (simulated)")
        return chdb_client

    service = make_service(settings, broker, codecs, factory, ch_database, wait_for_clickhouse=True)
    holder.append(service)
    task = asyncio.create_task(service.run())
    try:
        await service.wait_committed(ends, timeout=30)
    finally:
        await service.stop()
        await asyncio.wait_for(task, 10)
    assert len(calls) == 5 and calls[:4] == [{}] * 4
    assert service.store_failures == 4
    got = chdb_client.query(f"SELECT count(), uniqExact(id) FROM `{ch_database}`.spreads").result_rows
    assert got == [(300, 300)]


@pytest.mark.chaos("ClickHouse outage mid-run", "fetching paused, memory bounded, caught up, nothing lost")
async def test_outage_mid_run_stops_fetching_holds_bounded_memory_and_catches_up(
    broker: Any, topics: Settings, producer: AIOKafkaProducer, chdb_client: Client, ch_database: str
) -> None:
    settings = topics
    codecs = load_codecs()
    holder: list[SinkService] = []
    flaky = FlakyClient(chdb_client, failures=0, service=holder)
    buffered: list[int] = []
    real_insert = flaky.insert

    def observing_insert(*args: Any, **kwargs: Any) -> Any:
        buffered.append(holder[0]._buffers.total_rows)
        return real_insert(*args, **kwargs)

    flaky.insert = observing_insert  # type: ignore[method-assign]
    service = make_service(
        settings, broker, codecs, lambda: flaky, ch_database, batch_rows=50, max_buffered_rows=100
    )
    holder.append(service)
    await service.start()
    flaky.failures = 6
    n = 1_000
    ends = await produce(
        producer,
        settings.topic_spreads,
        [(f"pair-{i % 7}".encode(), codecs.spread_event.encode(spread_event(i))) for i in range(n)],
    )
    async with running(service):
        await service.wait_committed(ends, timeout=60)
    assert flaky.committed_while_failing[:6] == [{}] * 6
    # Never more than the bound plus one fetch in memory, outage or not.
    assert max(buffered) <= 100 + 50
    got = chdb_client.query(f"SELECT count(), uniqExact(id) FROM `{ch_database}`.spreads").result_rows
    assert got == [(n, n)]


async def test_closed_clickhouse_port_is_retried_without_consuming_and_logged_clearly(
    broker: Any, topics: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    values: dict[str, Any] = {"clickhouse_url": f"http://bob:hunter2secret@127.0.0.1:{port}/analytics"}
    settings = topics.model_copy(update=Settings(**values).model_dump(include={"clickhouse_url"}))
    service = SinkService(
        settings,
        broker.bootstrap,
        load_codecs(),
        consumer_kwargs=FAST_CONSUMER,
        group_id=f"sink-{uuid.uuid4().hex[:8]}",
        backoff_initial_s=0.05,
        backoff_max_s=0.2,
        wait_for_clickhouse=True,
    )
    task = asyncio.create_task(service.run())
    for _ in range(100):
        if service.store_failures >= 3:
            break
        await asyncio.sleep(0.05)
    await service.stop()
    await asyncio.wait_for(task, 10)
    assert service.store_failures >= 3
    assert service.committed == {} and service.spreads_inserted == 0
    assert f"bob:***@127.0.0.1:{port}" in caplog.text
    assert "connect to ClickHouse and migrate failed" in caplog.text and "retrying in" in caplog.text
    assert "hunter2secret" not in caplog.text
