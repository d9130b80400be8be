"""Pipeline benchmarks against the embedded broker: throughput, latency, scaling, memory.

Every phase uses its own topics (a fresh prefix) on ONE embedded Tansu broker and starts
real stream workers (``python -m echoarb worker``, the faust-streaming app of
``streams/app.py``: run transport, live merge, edge engine, pair-state table, spread events).
Beside it, in the same run, on the same broker and the same TickBatch records, two peers
run the peer workload (decode the TickBatch with the project's codec, keep the latest quote
per venue per pair, emit one output per tick): a bare aiokafka ``getmany`` loop
(``bench/bare_loop.py``) and Quix Streams (``bench/quix_peer.py``, in its own venv built by
``bench/peers.py``).

* throughput: ticks of a realistic recording, pre-encoded as TickBatch records
  (``TickBatcher``, 200 ticks max), published as fast as possible once the system is idle
  and ready; the clock stops when the worker has reported end of stream for every
  partition, or when a peer's last output is in Kafka. Also the in-process bare loop with
  one output per record (the earlier baseline). CPU seconds of the system's process are
  reported beside wall time (steadier on a shared machine).
* latency: ticks at a fixed offered load, open loop (``bench/offered.py``): tick ``i`` is due
  at ``start + i / rate`` and stamped with that time; the real ``TickPublisher`` (5 ms
  linger) builds every record of the pass before its clock starts, and the pass only sends
  them when due. Every pair's books are crossed and move every round, so (nearly) every tick
  changes a result and produces a spread event whose ``event_ts`` is the tick's due time
  (ms); landed = when a reader in this process receives it (5 ms fetch wait). The peers'
  outputs carry the tick's ``event_ts`` the same way. Before the first pass, 2 s of ticks
  (at least 500/s, every (pair, venue) twice) warm every pair up, not measured; a pass ends
  when its outputs stop coming.
* memory: peak RSS (VmHWM) of the worker after a throughput run.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import functools
import json
import logging
import os
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench import offered
from bench.common import WARMUP, median, pairs_config, percentile, save, synthetic_ticks, write_pairs
from bench.peers import Peer, PeerUnavailable
from echoarb.ingest.batching import TickBatcher
from echoarb.ingest.frames import FrameHandler
from echoarb.ingest.publisher import TickPublisher
from echoarb.kafka import client_config
from echoarb.kafka.embedded import EmbeddedBroker
from echoarb.model import VENUES, Tick
from echoarb.pairs import load_pairs
from echoarb.partitioning import venue_streams
from echoarb.services.worker_process import WorkerProcess
from echoarb.settings import Settings
from echoarb.venues.sample import generate_recording
from echoarb.wire.codec import load_codecs
from echoarb.wire.control import decode_control
from echoarb.wire.records import tick_from_record, tick_to_record

log = logging.getLogger("bench.pipeline")
PARTITIONS = 8
# The readers' own fetch wait (Tansu holds a fetch that long): the instrument's resolution.
FETCH_WAIT_MS = int(os.environ.get("BENCH_FETCH_WAIT_MS", "5"))
# How long a pass waits for a system that is behind (the edge peers needed over 30 s at 10,000
# ticks/s); a pass still behind then says so (``drained``).
DRAIN_WAIT_S = 60.0
WARMUP_RATE, WARMUP_S = 500, 2.0  # the latency passes' unmeasured warm-up (see latency)
QUIET_S = 1.0  # a pass's outputs are all in when none came for this long (see _drained)


class Env:
    """One broker and a scratch directory shared by every phase."""

    def __init__(self, root: Path, broker: EmbeddedBroker) -> None:
        self.root = root
        self.broker = broker
        self.codecs = load_codecs()
        self.highwater_client: AIOKafkaConsumer | None = None

    def settings(self, n_pairs: int, tag: str) -> Settings:
        prefix = f"b{tag}-{uuid.uuid4().hex[:6]}"
        pairs_file = write_pairs(n_pairs, self.root / f"pairs-{n_pairs}.json")
        return Settings(
            kafka_bootstrap=self.broker.bootstrap,
            embedded_broker=True,
            pairs_file=pairs_file,
            data_dir=self.root / "data",
            partitions=PARTITIONS,
            topic_ticks_prefix=f"{prefix}.ticks.",
            topic_spreads=f"{prefix}.spreads",
            topic_spread_windows=f"{prefix}.spread-windows",
            topic_dead_letter=f"{prefix}.dlq",
            topic_control=f"{prefix}.control",
            merge_max_wait_ms=600_000,
        )


def _health(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
            body: dict[str, Any] = json.load(resp)
            return body
    except Exception:
        return None


async def start_workers(env: Env, s: Settings, count: int, timeout: float = 90.0) -> list[WorkerProcess]:
    await client_config.ensure_topics(env.broker.bootstrap, s)
    group_id = group = f"bench-{uuid.uuid4().hex[:8]}"
    pool = [
        WorkerProcess(
            s,
            bootstrap=env.broker.bootstrap,
            embedded_broker=True,
            worker_id=group,
            merge_max_wait_ms=600_000,
            log_path=env.root / "logs" / f"{group}-{i}.log",
        )
        for i in range(count)
    ]
    for w in pool:
        w.start()
    deadline = time.monotonic() + timeout
    stable_since = None
    from aiokafka.admin import AIOKafkaAdminClient

    # Ready = every worker's /health says ok with all partitions assigned, or (when the
    # health view is unavailable) the consumer group is Stable with every member in it,
    # for a settle period (table recovery of an empty changelog is quick).
    admin = AIOKafkaAdminClient(bootstrap_servers=env.broker.bootstrap)
    await admin.start()
    try:
        while time.monotonic() < deadline:
            for w in pool:
                w.check_alive()
            bodies = [await asyncio.to_thread(_health, w.web_port) for w in pool]
            parts = [b["assigned_partitions"] for b in bodies if b and b.get("status") == "ok"]
            settled = len(parts) == count and sorted(p for ps in parts for p in ps) == list(range(PARTITIONS))
            if not settled and not any(bodies):
                try:
                    group = (await admin.describe_consumer_groups([group_id]))[0].groups[0]
                    settled = group[2] == "Stable" and len(group[5]) == count
                except Exception:
                    settled = False
            if settled:
                stable_since = stable_since or time.monotonic()
                if time.monotonic() - stable_since >= (1.0 if count == 1 else 4.0):
                    return pool
            else:
                stable_since = None
            await asyncio.sleep(0.25)
    finally:
        await admin.close()
    for w in pool:
        w.stop()
    raise RuntimeError(f"workers not ready in {timeout}s: {[w.log_tail(5) for w in pool]}")


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of ``pid`` so far (steadier than wall time on a shared machine)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


# -- input ------------------------------------------------------------------------------------
def recorded_ticks(n_pairs: int, n_ticks: int, seed: int = 5) -> list[Tick]:
    """Ticks of a realistic recording (parsers + normaliser), looped with shifted times."""
    raw = pairs_config(n_pairs)
    from echoarb.pairs import parse_pairs

    handler = FrameHandler(parse_pairs(raw))
    frames = generate_recording(raw, frames=min(n_ticks, 20_000) + 500, seed=seed)
    base: list[Tick] = []
    for f in frames:
        base.extend(handler.handle(f.venue, f.frame, f.recv_ts, source=f.source, path=f.path).ticks)
    span = base[-1].recv_ts - base[0].recv_ts + 1000
    out: list[Tick] = []
    loop = 0
    while len(out) < n_ticks:
        shift = loop * span
        out.extend(replace(t, recv_ts=t.recv_ts + shift, event_ts=t.event_ts + shift) for t in base)
        loop += 1
    return out[:n_ticks]


def encode_backlog(
    env: Env, s: Settings, ticks: list[Tick], producer_id: str
) -> list[tuple[str, int, bytes | None, bytes]]:
    pairs = load_pairs(s.pairs_file)
    batcher = TickBatcher(PARTITIONS, venue_streams(pairs, PARTITIONS), max_ticks=200)
    codec = env.codecs.tick_batch
    out = []

    def drain(eos: bool = False) -> None:
        for b in batcher.drain(end_of_stream=eos):
            rec = {
                "venue": b.venue,
                "producer_id": producer_id,
                "watermark": b.watermark,
                "end_of_stream": b.end_of_stream,
                "ticks": [tick_to_record(t) for t in b.ticks],
            }
            out.append(
                (s.tick_topic(b.venue), b.partition, b.key.encode() if b.key else None, codec.encode(rec))
            )

    for i, tick in enumerate(ticks):
        batcher.advance(tick.recv_ts - 1)
        full = batcher.add(tick)
        if full or i % 2000 == 1999:
            drain()
    drain(eos=True)
    return out


# -- control topic ------------------------------------------------------------------------------
class ControlWatcher:
    def __init__(self, bootstrap: str, s: Settings) -> None:
        self.s = s
        self.codec = load_codecs(s.schema_registry_url).control
        self.eos: dict[int, float] = {}
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            **{**client_config.consumer(True), "fetch_max_wait_ms": 5},
        )

    async def run(self, producer_id: str) -> None:
        await self._consumer.start()
        try:
            tp = TopicPartition(self.s.topic_control, 0)
            self._consumer.assign([tp])
            self._consumer.seek(tp, 0)
            while True:
                got = await self._consumer.getmany(timeout_ms=100)
                now = time.perf_counter()
                for records in got.values():
                    for r in records:
                        marker = decode_control(self.codec, r.value)
                        if marker is not None and marker.producer_id == producer_id:
                            self.eos.setdefault(marker.partition, now)
        finally:
            await self._consumer.stop()


# -- throughput ---------------------------------------------------------------------------------
PROFILE: Path | None = None  # --profile: py-spy the (first) worker during the timed part
PROFILE_LATENCY: Path | None = None  # --profile-latency: py-spy the EchoArb latency worker


def _py_spy() -> str | None:
    import shutil

    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return spy if Path(spy).exists() else None


def _spy_start(pid: int | None, out: Path | None = None) -> Any:
    import subprocess

    out = out or PROFILE
    spy = _py_spy()
    if out is None or pid is None or spy is None:
        return None
    return subprocess.Popen(
        [spy, "record", "-p", str(pid), "-r", "200", "-f", "raw", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _spy_stop(proc: Any) -> None:
    import signal

    if proc is not None:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


async def throughput(
    env: Env,
    n_pairs: int,
    n_ticks: int,
    workers: int = 1,
    baseline: bool = True,
    peers: tuple[str, ...] = ("bare", "quix"),
) -> dict[str, Any]:
    s = env.settings(n_pairs, f"tp{workers}")
    producer_id = f"bench-{uuid.uuid4().hex[:8]}"
    ticks = recorded_ticks(n_pairs, n_ticks)
    backlog = encode_backlog(env, s, ticks, producer_id)
    pool = await start_workers(env, s, workers)
    watcher = ControlWatcher(env.broker.bootstrap, s)
    task = asyncio.create_task(watcher.run(producer_id))
    producer = AIOKafkaProducer(bootstrap_servers=env.broker.bootstrap, **client_config.producer(True))
    await producer.start()
    result: dict[str, Any] = {
        "pairs": n_pairs,
        "ticks": len(ticks),
        "records": len(backlog),
        "workers": workers,
    }
    try:
        await asyncio.sleep(0.5)
        expected = set(venue_streams(load_pairs(s.pairs_file), PARTITIONS))
        spy = _spy_start(pool[0].pid) if workers == 1 else None
        await asyncio.sleep(0.5 if spy else 0)
        cpu0 = [cpu_seconds(w.pid) or 0.0 for w in pool]
        t0 = time.perf_counter()
        await _publish(producer, backlog)
        published = time.perf_counter() - t0
        await _until_eos(watcher, expected, pool)
        elapsed = max(watcher.eos.values()) - t0
        cpu = sum((cpu_seconds(w.pid) or 0.0) - c for w, c in zip(pool, cpu0, strict=True))
        _spy_stop(spy)
        result.update(
            seconds=round(elapsed, 3),
            publish_seconds=round(published, 3),
            worker_ticks_per_s=round(len(ticks) / elapsed),
            worker_cpu_ticks_per_s=round(len(ticks) / cpu) if cpu > 0 else None,
        )
        result["worker_peak_rss_mb"] = [peak_rss_mb(w.pid) for w in pool]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        for w in pool:
            w.stop()
    await producer.stop()
    if baseline:
        # The bare loop with one output per record (the README's earlier baseline), in process.
        result["bare_per_record_ticks_per_s"] = round(len(ticks) * await bare_loop(env, s, backlog))
        for kind in peers:
            try:
                result[kind] = await peer_throughput(env, kind, s, backlog, len(ticks))
            except PeerUnavailable as exc:
                result[kind] = {"error": str(exc)}
        if "ticks_per_s" in result.get("bare", {}):
            result["baseline_ticks_per_s"] = result["bare"]["ticks_per_s"]
            result["ratio_worker_vs_baseline"] = round(
                result["worker_ticks_per_s"] / result["baseline_ticks_per_s"], 3
            )
    return result


async def bare_loop(env: Env, s: Settings, backlog: list[tuple[str, int, bytes | None, bytes]]) -> float:
    """Bare aiokafka consume -> decode -> encode -> produce over the same records: 1 / seconds."""
    codec = env.codecs.tick_batch
    out_topic = f"{s.topic_spreads}"  # the worker is stopped: reuse its output topic
    want: dict[TopicPartition, int] = {}
    for topic, p, _, _ in backlog:
        tp = TopicPartition(topic, p)
        want[tp] = want.get(tp, 0) + 1
    consumer = AIOKafkaConsumer(
        bootstrap_servers=env.broker.bootstrap, enable_auto_commit=False, **client_config.consumer(True)
    )
    producer = AIOKafkaProducer(bootstrap_servers=env.broker.bootstrap, **client_config.producer(True))
    await consumer.start()
    await producer.start()
    latest: dict[tuple[str, str], Tick] = {}
    try:
        consumer.assign(list(want))
        for tp in want:
            consumer.seek(tp, 0)
        seen = dict.fromkeys(want, 0)
        remaining = len(backlog)
        futs = []
        t0 = time.perf_counter()
        while remaining:
            got = await consumer.getmany(timeout_ms=100, max_records=2000)
            for tp, records in got.items():
                for r in records:
                    if seen[tp] >= want[tp]:
                        continue
                    seen[tp] += 1
                    remaining -= 1
                    batch = codec.decode(r.value)
                    for rec in batch["ticks"]:
                        t = tick_from_record(rec)
                        latest[(t.pair_id, t.venue)] = t
                    value = codec.encode(batch)
                    futs.append(await producer.send(out_topic, value, key=r.key, partition=tp.partition))
        await asyncio.gather(*futs)
        elapsed = time.perf_counter() - t0
    finally:
        await consumer.stop()
        await producer.stop()
    return 1 / elapsed


# -- latency ----------------------------------------------------------------------------------
#: Systems whose outputs are spread events: EchoArb, and the peers doing its edge work.
SPREAD_SYSTEMS = ("echoarb", "bare-edge", "quix-edge")


class OutputLatency:
    """Reads a system's output topic: publish -> output latency per event (ms, wall clocks).

    EchoArb's and the edge peers' outputs are spread events (``event_ts`` = the publish time
    of the tick that triggered them); the copying peers' are one-tick TickBatches (the tick's
    ``event_ts``). A peer's warm-up output only says it is running (``warm``).
    """

    def __init__(self, bootstrap: str, s: Settings, codecs: Any, system: str) -> None:
        self.s = s
        self.system = system
        self.codecs = codecs
        self.samples: list[tuple[int, float]] = []  # (event_ts ms, latency ms)
        self.computed: list[float] = []  # publish -> worker computed the event (ms)
        self.outputs = 0
        self.warm = asyncio.Event()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            **{**client_config.consumer(True), "fetch_max_wait_ms": FETCH_WAIT_MS},
        )

    async def run(self) -> None:
        await self._consumer.start()
        try:
            tps = [TopicPartition(self.s.topic_spreads, p) for p in range(PARTITIONS)]
            self._consumer.assign(tps)
            for tp in tps:
                self._consumer.seek(tp, 0)
            spread = self.system in SPREAD_SYSTEMS
            decode = (self.codecs.spread_event if spread else self.codecs.tick_batch).decode
            tick_batch_header = self.codecs.tick_batch.header
            while True:
                got = await self._consumer.getmany(timeout_ms=50)
                now_ms = time.time() * 1000
                for records in got.values():
                    for r in records:
                        if spread and r.value.startswith(tick_batch_header):  # an edge peer's warm-up echo
                            self.warm.set()
                            continue
                        ev = decode(r.value)
                        self.outputs += 1
                        if spread:
                            self.samples.append((ev["event_ts"], now_ms - ev["event_ts"]))
                            self.computed.append(ev["computed_at"] - ev["event_ts"])
                        elif ev["producer_id"] == WARMUP:
                            self.warm.set()
                        else:
                            ts = ev["ticks"][0]["event_ts"]
                            self.samples.append((ts, now_ms - ts))
        finally:
            await self._consumer.stop()


class QueryableLatency:
    """The real sink in this process, and a poller: when does a spread become a ClickHouse row?"""

    def __init__(self, env: Env, s: Settings, flush_s: float) -> None:
        from echoarb.sink.client import connect_embedded
        from echoarb.sink.service import SinkService

        database = f"lat_{uuid.uuid4().hex[:6]}"
        path = env.root / "clickhouse"
        self._poll_client = connect_embedded(path, database)
        self.database = database
        sink_client = connect_embedded(path, database)
        self.sink = SinkService(
            s,
            env.broker.bootstrap,
            env.codecs,
            client_factory=lambda: sink_client,
            database=database,
            consumer_kwargs={**client_config.consumer(True), "fetch_max_wait_ms": FETCH_WAIT_MS},
            group_id=f"bench-sink-{uuid.uuid4().hex[:6]}",
            flush_interval_s=flush_s,
            poll_timeout_ms=5,
        )
        self.flush_s = flush_s
        self.samples: list[tuple[int, float]] = []  # (event_ts ms, publish -> queryable ms)

    def _recent_rows(self, since: int) -> list[tuple[str, int]]:
        rows = self._poll_client.query(
            f"SELECT id, toUnixTimestamp64Milli(event_ts) FROM {self.database}.spreads "
            f"WHERE event_ts >= fromUnixTimestamp64Milli({int(since)})"
        ).result_rows
        return [(str(r[0]), int(r[1])) for r in rows]

    async def ready(self, topic: str, timeout: float = 60.0) -> None:
        """Wait until the sink consumes ``topic`` (it migrates, then joins its group first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(tp.topic == topic for tp in self.sink.assigned) == PARTITIONS:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the sink was not consuming {topic} after {timeout:.0f} s")

    async def run(self) -> None:
        sink = asyncio.create_task(self.sink.run())
        seen: set[str] = set()
        newest = 0
        try:
            while True:
                await asyncio.sleep(0.05)
                try:
                    # Partitions flush separately, so rows do not arrive in event-time order:
                    # look back a few seconds and count each id once.
                    found = await asyncio.to_thread(self._recent_rows, newest - 3000)
                except Exception:  # tables not migrated yet
                    continue
                now_ms = time.time() * 1000
                for event_id, ts in found:
                    if event_id not in seen:
                        seen.add(event_id)
                        self.samples.append((ts, now_ms - ts))
                        newest = max(newest, ts)
        finally:
            sink.cancel()
            await asyncio.gather(sink, return_exceptions=True)
            await self.sink.stop()


async def _drained(reader: OutputLatency, end_ms: float, timeout: float) -> bool:
    """Until the pass's last outputs are in: one for a tick of its last 300 ms has come, and
    nothing more for ``QUIET_S``. A probe near the end alone is not enough: the partitions
    are processed independently, and a worker behind on one of them is still sending the
    rest of its outputs (those are the slow ones; leaving them out flatters the figures).

    False when ``timeout`` ran out first: the system was still behind, so the pass's figures
    leave out its slowest outputs (the results say so: ``drained``)."""
    deadline = time.monotonic() + max(1.0, timeout)
    seen, quiet_since = len(reader.samples), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        now = time.monotonic()
        if len(reader.samples) != seen:
            seen, quiet_since = len(reader.samples), now
        elif now - quiet_since >= QUIET_S and any(ts >= end_ms - 300 for ts, _ in reader.samples[-200:]):
            return True
    return False


async def latency(
    env: Env,
    n_pairs: int,
    rates: list[int],
    seconds: float,
    system: str = "echoarb",
    *,
    queryable: bool = False,
) -> dict[str, Any]:
    """Offered load ``rates`` (ticks/s) for ``seconds`` each, through ``system`` (see SYSTEMS).

    ``queryable``: also run the real ClickHouse sink (in this process) and time each spread
    until its row is queryable. That pass is separate from the side-by-side one: the sink and
    its embedded engine take most of a core on this 2-core machine, which the peers (no sink)
    would not pay, so the publish -> spread event figures beside them come from a run without it.
    """
    s = env.settings(n_pairs, f"lat{system}")
    pairs = load_pairs(s.pairs_file)
    producer_id = f"bench-{uuid.uuid4().hex[:8]}"
    # Topics first: a reader's metadata request for a missing topic makes Tansu create it
    # with no partitions.
    await client_config.ensure_topics(env.broker.bootstrap, s)
    reader = OutputLatency(env.broker.bootstrap, s, env.codecs, system)
    tasks = [asyncio.create_task(reader.run())]
    pool: list[Any] = []
    producer = AIOKafkaProducer(bootstrap_servers=env.broker.bootstrap, **client_config.tick_producer(True))
    await producer.start()
    sink: QueryableLatency | None = None
    if system == "echoarb":
        pool = await start_workers(env, s, 1)
        if queryable:
            sink = QueryableLatency(env, s, float(os.environ.get("BENCH_SINK_FLUSH_S", "0.1")))
            tasks.append(asyncio.create_task(sink.run()))
    else:
        pool = [await start_peer(env, s, system, producer, reader.warm)]
    batcher = TickBatcher(PARTITIONS, venue_streams(pairs, PARTITIONS), 200)
    topics: dict[str, str] = {v: s.tick_topic(v) for v in VENUES}
    linger_ms = float(os.environ.get("BENCH_LINGER_MS", s.batch_linger_ms))
    out: dict[str, Any] = {"system": system, "pairs": n_pairs, "seconds_per_rate": seconds, "rates": {}}
    try:
        await asyncio.sleep(0.5)
        if sink is not None:
            await sink.ready(s.topic_spreads)
        build = functools.partial(
            offered.schedule,
            codec=env.codecs.tick_batch,
            topics=topics,
            producer_id=producer_id,
            dead_letter_topic=s.topic_dead_letter,
            linger_ms=linger_ms,
        )

        async def prepare(rate: int, n_ticks: int, seed: int) -> tuple[int, list[offered.Flush]]:
            """A pass's start time and records: every record is built before its clock starts
            (bench.offered); it starts once they are, by an estimate from a copy's first ticks."""
            ticks = synthetic_ticks(pairs, n_ticks, seed=seed, crossed=True, probe_every=1)
            t_build = time.perf_counter()
            await build(ticks[:500], rate, 0, batcher=copy.deepcopy(batcher))
            per_tick = (time.perf_counter() - t_build) / min(500, len(ticks))
            start_ms = int(time.time() * 1000 + 500 + 1500 * per_tick * len(ticks))
            flushes = await build(ticks, rate, start_ms, batcher=batcher)
            await asyncio.sleep(max(0.0, start_ms / 1000 - time.time()))
            return start_ms, flushes

        # Warm-up, not measured: every pair's first ticks on each venue (new state, first
        # spread, first checkpoint with every pair in it, the output topics' first sends)
        # cost tens of ms each, once; they belong to start-up, not to a steady offered load.
        # Every (pair, venue) twice at least: 500 ticks/s for 2 s covers 100 pairs x 3 venues.
        n_streams = sum(len(pair.venue_names) for pair in pairs.pairs)
        warm_rate = max(WARMUP_RATE, int(2 * n_streams / WARMUP_S))
        warm_start, warm_flushes = await prepare(warm_rate, int(warm_rate * WARMUP_S), 0)
        await offered.offer(producer, warm_flushes, warm_start)
        await _drained(reader, time.time() * 1000, DRAIN_WAIT_S)
        for rate in rates:
            n_ticks = int(rate * seconds)
            start_ms, flushes = await prepare(rate, n_ticks, rate)
            n_before = len(reader.computed)
            cpu0 = cpu_seconds(pool[0].pid)
            broker0, bench0 = cpu_seconds(env.broker.pid), time.process_time()
            spy = None
            if PROFILE_LATENCY is not None and system == "echoarb":
                spy = _spy_start(pool[0].pid, PROFILE_LATENCY.with_name(f"{PROFILE_LATENCY.stem}-{rate}.txt"))
            late_s = await offered.offer(producer, flushes, start_ms)
            end_ms = time.time() * 1000
            records = sum(len(f.records) for f in flushes)
            drained = await _drained(reader, end_ms, DRAIN_WAIT_S if seconds >= 2 else 1.0)
            rows_deadline = time.monotonic() + DRAIN_WAIT_S  # a row follows its event by ~1 s
            while (
                sink is not None
                and time.monotonic() < rows_deadline
                and not any(ts >= end_ms - 300 for ts, _ in sink.samples[-200:])
            ):
                await asyncio.sleep(0.05)  # the rows follow the spread events
            await asyncio.sleep(min(0.5, seconds))
            for w in pool:
                w.check_alive()
            cpu1 = cpu_seconds(pool[0].pid)
            broker1, bench1 = cpu_seconds(env.broker.pid), time.process_time()
            _spy_stop(spy)
            lat = [ms for ts, ms in reader.samples if start_ms + 500 <= ts <= end_ms]
            ch = [ms for ts, ms in sink.samples if start_ms + 500 <= ts <= end_ms] if sink else []
            out["rates"][str(rate)] = {
                "offered_ticks_per_s": rate,
                "achieved_ticks_per_s": round(n_ticks / (end_ms - start_ms) * 1000),
                "tick_records_per_s": round(records / (end_ms - start_ms) * 1000),
                # The publisher's worst lateness against the schedule (it counts in the figures).
                "publisher_late_ms": round(late_s * 1000, 1),
                "spread_events": len(lat),
                "spread_events_total": len(reader.samples),
                # False: still behind DRAIN_WAIT_S after the pass, its slowest outputs not counted.
                "drained": drained,
                "debug": [start_ms, end_ms, reader.samples[:3], reader.samples[-3:]]
                if os.environ.get("BENCH_DEBUG")
                else None,
                "computed_p50_ms": round(percentile(reader.computed[n_before:], 0.50), 1)
                if reader.computed[n_before:]
                else None,
                "computed_p99_ms": round(percentile(reader.computed[n_before:], 0.99), 1)
                if reader.computed[n_before:]
                else None,
                "p50_ms": round(percentile(lat, 0.50), 1),
                "p99_ms": round(percentile(lat, 0.99), 1),
                "max_ms": round(max(lat), 1) if lat else None,
                # CPU of the system's process over the rate's run, per 1,000 ticks offered.
                "cpu_ms_per_1k_ticks": round((cpu1 - cpu0) * 1e6 / n_ticks, 1)
                if cpu0 is not None and cpu1 is not None
                else None,
                # What shares the 2 cores with it over the same run: the broker, and this
                # process (publisher and reader; the in-process sink too in the queryable pass).
                "broker_cpu_ms_per_1k_ticks": round((broker1 - broker0) * 1e6 / n_ticks, 1)
                if broker0 is not None and broker1 is not None
                else None,
                "bench_cpu_ms_per_1k_ticks": round((bench1 - bench0) * 1e6 / n_ticks, 1),
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
            if sink is not None:
                out["rates"][str(rate)].update(
                    clickhouse_rows=len(ch),
                    clickhouse_p50_ms=round(percentile(ch, 0.50), 1) if ch else None,
                    clickhouse_p99_ms=round(percentile(ch, 0.99), 1) if ch else None,
                    sink_flush_s=sink.flush_s,
                )
        await TickPublisher(
            producer,
            env.codecs.tick_batch,
            batcher,
            topics,
            producer_id=producer_id,
            dead_letter_topic=s.topic_dead_letter,
        ).flush(end_of_stream=True)
        out["peak_rss_mb"] = peak_rss_mb(pool[0].pid)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()
        for w in pool:
            w.stop()
    return out


# -- peers ------------------------------------------------------------------------------------
SYSTEMS = ("echoarb", "bare", "quix", "bare-edge", "quix-edge")


def _warmup_record(env: Env) -> bytes:
    tick = synthetic_ticks(load_pairs(write_pairs(1, env.root / "pairs-warmup.json")), 1)[0]
    return env.codecs.tick_batch.encode(
        {"venue": "kalshi", "producer_id": WARMUP, "watermark": 0, "end_of_stream": False,
         "ticks": [tick_to_record(tick)]}
    )  # fmt: skip


async def start_peer(
    env: Env, s: Settings, kind: str, producer: AIOKafkaProducer, warm: asyncio.Event | None = None
) -> Peer:
    """Start the ``kind`` peer on ``s``'s tick topics (output: the spreads topic), warmed up:
    it has turned one record into an output (consumer joined, connections open)."""
    await client_config.ensure_topics(env.broker.bootstrap, s)
    peer = Peer(
        kind,
        {
            "bootstrap": env.broker.bootstrap,
            "topics": [s.tick_topic(v) for v in VENUES],
            "out": s.topic_spreads,
            "partitions": PARTITIONS,
            "group": f"bench-{kind}-{uuid.uuid4().hex[:6]}",
            "pairs_file": str(s.pairs_file),
        },
        env.root / "logs" / f"peer-{kind}-{uuid.uuid4().hex[:6]}.log",
    )
    peer.start()
    await producer.send_and_wait(s.tick_topic("kalshi"), _warmup_record(env), partition=0)
    deadline = time.monotonic() + 180
    while True:
        peer.check_alive()
        if warm is not None and warm.is_set():
            return peer
        if warm is None and sum((await _output_highwaters(env, s)).values()) >= 1:
            return peer
        if time.monotonic() > deadline:
            peer.stop()
            raise PeerUnavailable(f"{kind} peer produced no output within 180 s: {peer.log_path}")
        await asyncio.sleep(0.05)


async def _output_highwaters(env: Env, s: Settings) -> dict[Any, int]:
    from echoarb.kafka import tansu_compat

    if env.highwater_client is None:
        env.highwater_client = AIOKafkaConsumer(bootstrap_servers=env.broker.bootstrap)
        await env.highwater_client.start()
    tps = [TopicPartition(s.topic_spreads, p) for p in range(PARTITIONS)]
    return await tansu_compat.end_offsets_via_fetch(env.highwater_client, tps, max_wait_ms=20)


async def peer_throughput(
    env: Env, kind: str, template: Settings, backlog: list[tuple[str, int, bytes | None, bytes]], n_ticks: int
) -> dict[str, Any]:
    """The same TickBatch records as the worker's run, through ``kind``: ticks/s until the
    last of its outputs (one per tick) is in Kafka."""
    s = env.settings(len(load_pairs(template.pairs_file).pairs), f"tp{kind}")
    old, new = template.topic_ticks_prefix, s.topic_ticks_prefix
    records = [(topic.replace(old, new, 1), p, key, value) for topic, p, key, value in backlog]
    producer = AIOKafkaProducer(bootstrap_servers=env.broker.bootstrap, **client_config.producer(True))
    await producer.start()
    peer = None
    try:
        peer = await start_peer(env, s, kind, producer)
        cpu0 = cpu_seconds(peer.pid) or 0.0
        t0 = time.perf_counter()
        await _publish(producer, records)
        deadline = time.monotonic() + 300
        while sum((await _output_highwaters(env, s)).values()) < 1 + n_ticks:
            peer.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} peer did not finish the backlog in 300 s")
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t0
        cpu = (cpu_seconds(peer.pid) or 0.0) - cpu0
        return {
            "cpu_ticks_per_s": round(n_ticks / cpu) if cpu > 0 else None,
            "ticks_per_s": round(n_ticks / elapsed),
            "seconds": round(elapsed, 3),
            "peak_rss_mb": peak_rss_mb(peer.pid),
        }
    finally:
        if peer is not None:
            peer.stop()
        await producer.stop()


# -- failover and recovery ------------------------------------------------------------------
async def _until_ready(w: WorkerProcess, partitions: int, timeout: float = 120.0) -> float:
    """Seconds until ``w``'s /health says ok while holding ``partitions`` partitions."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        w.check_alive()
        body = await asyncio.to_thread(_health, w.web_port)
        if body and body.get("status") == "ok" and len(body["assigned_partitions"]) == partitions:
            return time.perf_counter() - t0
        await asyncio.sleep(0.02)
    raise RuntimeError(f"worker not ready within {timeout}s: {w.log_tail(5)}")


async def _publish(producer: AIOKafkaProducer, records: list[tuple[str, int, bytes | None, bytes]]) -> None:
    futs = [await producer.send(topic, value, key=key, partition=p) for topic, p, key, value in records]
    await asyncio.gather(*futs)


async def _until_eos(watcher: ControlWatcher, expected: set[int], pool: list[WorkerProcess]) -> None:
    deadline = time.monotonic() + 300
    while not expected <= set(watcher.eos):
        for w in pool:
            w.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"no end of stream from {sorted(expected - set(watcher.eos))}")
        await asyncio.sleep(0.01)


async def failover(env: Env, n_pairs: int, n_ticks: int) -> dict[str, Any]:
    """SIGKILL one of two workers mid-stream: time until the survivor holds and serves all partitions.

    The session timeout (2 s on the embedded broker) is the floor: the group coordinator
    only notices a dead member when its session expires.
    """
    s = env.settings(n_pairs, "fo")
    producer_id = f"bench-{uuid.uuid4().hex[:8]}"
    backlog = encode_backlog(env, s, recorded_ticks(n_pairs, n_ticks), producer_id)
    half = len(backlog) // 2
    pool = await start_workers(env, s, 2)
    watcher = ControlWatcher(env.broker.bootstrap, s)
    task = asyncio.create_task(watcher.run(producer_id))
    producer = AIOKafkaProducer(bootstrap_servers=env.broker.bootstrap, **client_config.producer(True))
    await producer.start()
    try:
        await _publish(producer, backlog[:half])
        await asyncio.sleep(1.0)
        t_kill = time.perf_counter()
        pool[0].kill()
        ready_s = await _until_ready(pool[1], PARTITIONS)
        await _publish(producer, backlog[half:])
        await _until_eos(watcher, set(venue_streams(load_pairs(s.pairs_file), PARTITIONS)), pool[1:])
        done_s = max(watcher.eos.values()) - t_kill
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await producer.stop()
        for w in pool:
            w.stop()
    return {
        "pairs": n_pairs,
        "ticks": n_ticks,
        "kill_to_survivor_ready_s": round(ready_s, 2),
        "kill_to_all_processed_s": round(done_s, 2),
        "session_timeout_s": 2.0,
    }


async def recovery(env: Env, n_pairs: int, n_ticks: int) -> dict[str, Any]:
    """A worker with N pairs of state is SIGKILLed and restarted: time to /health ok (tables rebuilt).

    Baseline in the same run: the same worker's first start on empty topics.
    """
    s = env.settings(n_pairs, "rc")
    producer_id = f"bench-{uuid.uuid4().hex[:8]}"
    backlog = encode_backlog(env, s, recorded_ticks(n_pairs, n_ticks), producer_id)
    await client_config.ensure_topics(env.broker.bootstrap, s)
    w = WorkerProcess(
        s,
        bootstrap=env.broker.bootstrap,
        embedded_broker=True,
        worker_id=f"bench-{uuid.uuid4().hex[:8]}",
        merge_max_wait_ms=600_000,
        log_path=env.root / "logs" / f"recovery-{n_pairs}.log",
    )
    watcher = ControlWatcher(env.broker.bootstrap, s)
    task = asyncio.create_task(watcher.run(producer_id))
    producer = AIOKafkaProducer(bootstrap_servers=env.broker.bootstrap, **client_config.producer(True))
    await producer.start()
    try:
        t0 = time.perf_counter()
        w.start()
        cold_s = await _until_ready(w, PARTITIONS)
        del t0
        await _publish(producer, backlog)
        await _until_eos(watcher, set(venue_streams(load_pairs(s.pairs_file), PARTITIONS)), [w])
        await asyncio.sleep(1.0)  # let the last checkpoint and commit land
        w.kill()
        w.start()
        warm_s = await _until_ready(w, PARTITIONS)
        body = await asyncio.to_thread(_health, w.web_port) or {}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await producer.stop()
        w.stop()
    return {
        "pairs": n_pairs,
        "restart_to_ready_s": round(warm_s, 2),
        "empty_start_to_ready_s": round(cold_s, 2),
        "ratio": round(warm_s / cold_s, 2) if cold_s else None,
        "recovered": body.get("recovered"),
    }


# -- main --------------------------------------------------------------------------------------
def _phase(name: str, what: str) -> None:
    """One line on stderr as each phase starts (the whole run takes tens of minutes)."""
    print(f"bench.pipeline: {name}: {what}", file=sys.stderr, flush=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    root = Path(tempfile.mkdtemp(prefix="echoarb-bench-"))
    result: dict[str, Any] = {"partitions": PARTITIONS}
    with EmbeddedBroker(log_path=root / "tansu.log") as broker:
        env = Env(root, broker)
        peers = tuple(x for x in args.systems if x != "echoarb")
        # The edge peers emit a spread event per changed opportunity, not one output per tick:
        # the backlog pass counts outputs, so they run in the latency passes only.
        copying = tuple(x for x in peers if x not in SPREAD_SYSTEMS)
        if "throughput" in args.phases:
            _phase(
                "throughput",
                f"{args.repeats} backlog runs of {args.ticks:,} ticks, systems {', '.join(args.systems)}",
            )
            runs = [await throughput(env, args.pairs, args.ticks, peers=copying) for _ in range(args.repeats)]
            result["throughput"] = {
                "pairs": args.pairs,
                "ticks": args.ticks,
                "venues": 3,
                "worker_ticks_per_s": median([r["worker_ticks_per_s"] for r in runs]),
                "runs": runs,
            }
            for key in ("baseline_ticks_per_s", "ratio_worker_vs_baseline", "bare_per_record_ticks_per_s"):
                values = [r[key] for r in runs if key in r]
                if values:
                    result["throughput"][key] = median(values)
            for kind in copying:
                values = [r[kind]["ticks_per_s"] for r in runs if "ticks_per_s" in r.get(kind, {})]
                errors = [r[kind]["error"] for r in runs if "error" in r.get(kind, {})]
                result["throughput"][f"{kind}_ticks_per_s"] = median(values) if values else None
                if errors:
                    result["throughput"][f"{kind}_error"] = errors[0]
        if "latency" in args.phases:
            _phase(
                "latency",
                f"{', '.join(map(str, args.rates))} ticks/s for {args.seconds:g} s each, per system",
            )
            result["latency"] = await latency(env, args.pairs, args.rates, args.seconds)
            result["latency_peers"] = {}
            for kind in peers:
                try:
                    result["latency_peers"][kind] = await latency(
                        env, args.pairs, args.rates, args.seconds, system=kind
                    )
                except PeerUnavailable as exc:
                    result["latency_peers"][kind] = {"error": str(exc)}
        if "queryable" in args.phases:
            _phase("queryable", "publish -> row in ClickHouse, the sink beside the worker")
            # Publish -> row queryable in ClickHouse: its own pass, with the sink running.
            rate = 2_500 if 2_500 in args.rates else args.rates[0]
            result["latency_queryable"] = await latency(env, args.pairs, [rate], args.seconds, queryable=True)
        if "latency_pairs" in args.phases:
            _phase("latency_pairs", f"pairs {', '.join(map(str, args.pair_counts))}")
            result["latency_vs_pairs"] = {
                str(n): (await latency(env, n, [args.rates[0]], args.seconds))["rates"][str(args.rates[0])]
                for n in args.pair_counts
            }
        if "memory" in args.phases:
            _phase("memory", f"{args.memory_pairs:,} pairs")
            r = await throughput(env, args.memory_pairs, args.ticks, baseline=False)
            result["memory"] = {
                "pairs": args.memory_pairs,
                "worker_peak_rss_mb": r["worker_peak_rss_mb"][0],
                "worker_ticks_per_s": r["worker_ticks_per_s"],
            }
        if "scaling" in args.phases:
            _phase("scaling", f"workers {', '.join(map(str, args.workers))}")
            result["scaling"] = {}
            for n in args.workers:
                r = await throughput(env, args.pairs, args.ticks, workers=n, baseline=False)
                result["scaling"][str(n)] = {
                    "workers": n,
                    "ticks_per_s": r["worker_ticks_per_s"],
                    "peak_rss_mb": r["worker_peak_rss_mb"],
                }
        if "failover" in args.phases:
            _phase("failover", "SIGKILL one of two workers")
            result["failover"] = await failover(env, args.pairs, args.ticks)
        if "recovery" in args.phases:
            _phase("recovery", f"restart with {', '.join(map(str, args.recovery_pairs))} pairs of state")
            result["recovery"] = {str(n): await recovery(env, n, args.ticks) for n in args.recovery_pairs}
        if env.highwater_client is not None:
            await env.highwater_client.stop()
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--phases", default="throughput,latency,queryable,latency_pairs,memory,scaling,failover,recovery"
    )
    ap.add_argument("--recovery-pairs", default="100,1000")
    ap.add_argument("--pairs", type=int, default=100)
    ap.add_argument("--ticks", type=int, default=60_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rates", default="250,2500,10000")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--pair-counts", default="10,100,1000")
    ap.add_argument("--memory-pairs", type=int, default=1000)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help="echoarb and its peers: bare and quix copy each tick (the framework alone), bare-edge "
        "and quix-edge run EchoArb's merge and edge engine (bench/edge_work.py; latency only)",
    )
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--profile", help="write py-spy collapsed stacks of the throughput worker here")
    ap.add_argument("--profile-latency", help="py-spy the latency worker: PATH-<rate>.txt per rate")
    args = ap.parse_args(argv)
    global PROFILE
    PROFILE = Path(args.profile).resolve() if args.profile else None
    global PROFILE_LATENCY
    PROFILE_LATENCY = Path(args.profile_latency).resolve() if args.profile_latency else None
    if (PROFILE or PROFILE_LATENCY) and _py_spy() is None:
        ap.error("--profile needs py-spy on PATH or beside this Python: pip install py-spy")
    args.phases = args.phases.split(",")
    args.systems = args.systems.split(",")
    unknown = sorted(set(args.systems) - set(SYSTEMS))
    if unknown:
        ap.error(f"unknown system(s) {', '.join(unknown)}: choose from {', '.join(SYSTEMS)}")
    args.rates = [int(x) for x in args.rates.split(",")]
    args.pair_counts = [int(x) for x in args.pair_counts.split(",")]
    args.workers = [int(x) for x in args.workers.split(",")]
    args.recovery_pairs = [int(x) for x in args.recovery_pairs.split(",")]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for name in ("aiokafka", "faust", "mode", "kafka"):
        logging.getLogger(name).setLevel(logging.ERROR)
    result = asyncio.run(run(args))
    if not args.no_save:
        save("pipeline", result)
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
