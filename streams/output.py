"""What the worker writes: spread events, window records, dead letters, end-of-stream
markers, and (once those are delivered) the pair states and offsets of a checkpoint.

The rule is "outputs first, state second" (``streams.checkpoints``): outputs are sent at
once without waiting (appended to the producer's open batch where there is one:
``streams.open_batch``), their delivery futures collected in the partition's open checkpoint;
:meth:`Output.commit` runs when every one of them has an outcome and only then writes the
checkpoint's pair states to the table and acks its records.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import faust
from aiokafka.structs import RecordMetadata

from echoarb.scan.partition import Step
from echoarb.settings import Settings
from echoarb.wire.codec import Codecs
from echoarb.wire.control import EndOfStream, encode_control
from echoarb.wire.deadletter import dead_letter_headers
from echoarb.wire.records import spread_to_wire, window_to_record
from streams import open_batch
from streams.checkpoints import Checkpoint
from streams.faust_compat import ack_current
from streams.open_batch import OpenBatch
from streams.stats import Counters

log = logging.getLogger("echoarb.worker")


class Output:
    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        codecs: Codecs,
        *,
        table: Any,
        lock: asyncio.Lock,
        owns: Callable[[int], bool],
        counters: Counters,
    ) -> None:
        self.app = app
        self.settings = settings
        self.codecs = codecs
        self.table = table
        self.lock = lock
        self.owns = owns
        self.counters = counters
        self.sent_offsets: dict[tuple[str, int], int] = {}  # last delivered offset per output partition
        self._keys: dict[str, bytes] = {}  # pair id -> record key
        self._open_batch: OpenBatch | None = None  # appends to the producer client's open batches
        self.dlq_topic = app.topic(settings.topic_dead_letter, key_serializer="raw", value_serializer="raw")
        self.control_topic = app.topic(settings.topic_control, key_serializer="raw", value_serializer="raw")

    async def send(self, cp: Checkpoint, partition: int, step: Step) -> None:
        """Send a step's outputs to the tick partition's own output partition; ``cp`` awaits them.

        Each record goes into the producer's open batch of the partition when there is one
        (``streams.open_batch``: no coroutine, one delivery future per batch), else through
        the transport producer, which opens the next batch. Not ``Topic.send``: its
        per-message wrapping (pending and future messages, callbacks) cost more than the
        Avro encode itself."""
        now_ms = step.now_ms
        producer = self.app.producer
        direct = self._open_batch
        client = open_batch.aiokafka_producer(producer)
        if direct is None or direct.producer is not client:  # first send, or a new client
            direct = self._open_batch = OpenBatch(client)
        append, tp = direct.append, direct.tp
        send, futures, batches = producer.send, cp.futures, cp.batches
        spreads, windows = self.settings.topic_spreads, self.settings.topic_spread_windows
        encode_spread, encode_window = self.codecs.spread_event.encode, self.codecs.spread_window.encode
        keys = self._keys
        if step.spreads:
            spreads_tp = tp(spreads, partition)
            for event in step.spreads:
                pair_id = event.opportunity.pair_id
                key = keys.get(pair_id) or self._key(pair_id)
                value = encode_spread(spread_to_wire(event))
                appended = append(spreads_tp, key, value)
                if appended is None:
                    futures.append(await send(spreads, key, value, partition, None, None))
                else:  # later records of a batch have higher offsets: keep the last
                    batches[appended[0]] = appended[1]
        if step.windows:
            windows_tp = tp(windows, partition)
            for window in step.windows:
                key = keys.get(window.pair_id) or self._key(window.pair_id)
                value = encode_window(window_to_record(window, now_ms))
                appended = append(windows_tp, key, value)
                if appended is None:
                    futures.append(await send(windows, key, value, partition, None, None))
                else:
                    batches[appended[0]] = appended[1]
        self.counters.ticks_processed += step.ticks
        self.counters.spreads_sent += len(step.spreads)

    def _key(self, pair_id: str) -> bytes:
        key = self._keys[pair_id] = pair_id.encode()
        return key

    async def dead_letter(self, message: Any, record: Any, reason: str) -> None:
        """A tick record that does not decode goes to the dead-letter topic (never dropped);
        the caller acks it with its run once the dead letter is delivered (awaited here)."""
        self.counters.decode_errors += 1
        log.warning("dead-lettering %s[%d]@%d: %s", message.topic, message.partition, record.offset, reason)
        fut = await self.dlq_topic.send(
            key=record.key,
            value=record.value,
            headers=dead_letter_headers(
                reason, message.topic, message.partition, record.offset, stage="worker"
            ),
        )
        await fut

    async def commit(self, cp: Checkpoint, results: list[Any]) -> None:
        """Runs once every output of ``cp`` has an outcome: persist state, then ack."""
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            # Undelivered outputs: neither state nor offsets may move past them. Stopping is
            # the only safe answer; a restart re-reads from the last commit.
            log.critical("partition %d: %d outputs not delivered: %r", cp.partition, len(failed), failed[0])
            await self.app.crash(failed[0])
            return
        async with self.lock:
            singles = len(cp.futures)
            for metadata in results[:singles]:
                self._record_offset(metadata, 0)
            # A batch's metadata carries its base offset; ours ended at base + the offset within.
            for metadata, last in zip(results[singles:], cp.batches.values(), strict=True):
                self._record_offset(metadata, last)
            if cp.generation != self.app.consumer_generation_id or not self.owns(cp.partition):
                # Revoked since: the new owner may already have recovered the table; a late
                # write would overwrite its newer state. It re-reads the unacked records.
                log.info("partition %d: revoked before its checkpoint was committed", cp.partition)
                return
            # One table write per touched pair per checkpoint: each is one changelog record.
            for key, value in cp.states:
                self.table[key] = value
            ack_current(self.app, cp.acks)
        if cp.control is not None:
            await self.app.producer.flush()
            await self._end_of_stream(cp.partition, cp.control)

    def _record_offset(self, metadata: RecordMetadata | None, within: int) -> None:
        if metadata is None:  # acks=0: the broker tells no offsets
            return
        tp = (metadata.topic, metadata.partition)
        offset = metadata.offset + within
        if offset > self.sent_offsets.get(tp, -1):
            self.sent_offsets[tp] = offset

    async def _end_of_stream(self, partition: int, producer_id: str) -> None:
        """Tell a finite replay that this partition is fully processed and where its output ends."""
        s = self.settings
        marker = EndOfStream(
            producer_id=producer_id,
            partition=partition,
            last_offsets={
                s.topic_spreads: self.sent_offsets.get((s.topic_spreads, partition), -1),
                s.topic_spread_windows: self.sent_offsets.get((s.topic_spread_windows, partition), -1),
            },
            ticks_processed=self.counters.ticks_processed,
            decode_errors=self.counters.decode_errors,
        )
        value = encode_control(self.codecs.control, marker)
        fut = await self.control_topic.send(key=producer_id.encode(), value=value)
        await fut
        log.info("partition %d: end of stream, %s", partition, marker.last_offsets)
