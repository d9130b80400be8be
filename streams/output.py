"""What the worker writes: spread events, window records, dead letters, end-of-stream
markers, and (once those are delivered) the pair states and offsets of a checkpoint.

The rule is "outputs first, state second" (``streams.checkpoints``): outputs are sent at
once without waiting, their delivery futures collected in the partition's open checkpoint;
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
from echoarb.wire.records import spread_to_record, window_to_record
from streams.checkpoints import Checkpoint
from streams.faust_compat import ack_current
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
        self.dlq_topic = app.topic(settings.topic_dead_letter, key_serializer="raw", value_serializer="raw")
        self.control_topic = app.topic(settings.topic_control, key_serializer="raw", value_serializer="raw")

    async def send(self, cp: Checkpoint, partition: int, step: Step) -> None:
        """Send a step's outputs to the tick partition's own output partition; ``cp`` awaits them."""
        now_ms = step.now_ms
        # Straight to the transport producer: Topic.send's per-message wrapping (pending and
        # future messages, callbacks) cost more than the Avro encode itself.
        futures = cp.futures
        send = self.app.producer.send
        spreads, windows = self.settings.topic_spreads, self.settings.topic_spread_windows
        encode_spread, encode_window = self.codecs.spread_event.encode, self.codecs.spread_window.encode
        for event in step.spreads:
            value = encode_spread(spread_to_record(event))
            futures.append(
                await send(spreads, event.opportunity.pair_id.encode(), value, partition, None, None)
            )
        for window in step.windows:
            value = encode_window(window_to_record(window, now_ms))
            futures.append(await send(windows, window.pair_id.encode(), value, partition, None, None))
        self.counters.ticks_processed += step.ticks
        self.counters.spreads_sent += len(step.spreads)

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
            for metadata in results:
                self._record_offset(metadata)
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

    def _record_offset(self, metadata: RecordMetadata) -> None:
        tp = (metadata.topic, metadata.partition)
        if metadata.offset > self.sent_offsets.get(tp, -1):
            self.sent_offsets[tp] = metadata.offset

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
