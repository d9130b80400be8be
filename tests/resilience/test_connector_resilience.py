"""Connector resilience over real sockets: venue down (circuit breaker) and a stalled Kafka."""

from __future__ import annotations

import asyncio
import dataclasses

from echoarb.kafka.processes import free_port
from echoarb.venues.polymarket.client import PolymarketConnector
from echoarb.venues.polymarket.simulator import PolymarketSimulator
from echoarb.venues.simulator import parse_scenario
from tests.venues.live_helpers import FAST, pairs, pipeline, stop, until


def _ids() -> list[str]:
    from echoarb.ingest.normalise import Normaliser

    return Normaliser(pairs()).instruments("polymarket")


async def test_venue_down_opens_the_circuit_then_a_probe_reconnects() -> None:
    port = free_port()
    timing = dataclasses.replace(
        FAST, backoff_base=0.005, backoff_cap=0.01, breaker_threshold=3, breaker_reset=0.15
    )
    pipe, publisher = pipeline()
    connector = PolymarketConnector(f"ws://127.0.0.1:{port}/ws/market", _ids(), pipe.on_frame, timing)
    tasks = [asyncio.create_task(connector.run()), asyncio.create_task(pipe.run())]
    try:
        await until(lambda: connector.breaker.times_opened >= 1, what="the circuit to open")
        assert connector.breaker.state in ("open", "half_open")
        assert "ConnectionRefused" in (connector.last_error or "") or "Errno" in (connector.last_error or "")
        sim = await PolymarketSimulator([parse_scenario("stream")], interval=0.005).start(port=port)
        try:
            await until(lambda: len(publisher.ticks) > 5, what="ticks after the venue came back")
            assert str(connector.breaker.state) == "closed" and connector.breaker.failures == 0
            assert sim.connections == 1
        finally:
            await sim.stop()
    finally:
        await stop(*tasks)


async def test_stalled_kafka_backpressures_without_dropping_a_frame() -> None:
    """Publisher blocked (Kafka unreachable): the buffer fills, then the connector waits; nothing is lost."""
    pipe, publisher = pipeline(buffer_frames=5, heartbeat_ms=10)
    async with PolymarketSimulator([parse_scenario("updates:60,wait:10")], interval=0.001) as sim:
        connector = PolymarketConnector(sim.url(), _ids(), pipe.on_frame, FAST)
        tasks = [asyncio.create_task(connector.run()), asyncio.create_task(pipe.run())]
        try:
            await until(lambda: len(publisher.ticks) > 0, what="first ticks")
            publisher.gate.clear()  # Kafka goes away
            await until(lambda: pipe.buffer.full() and pipe.stats.buffer_full_waits > 0, what="a full buffer")
            frames_while_blocked = connector.frames
            await asyncio.sleep(0.6)  # longer than the heartbeat timeout: blocked is not dead
            assert connector.frames == frames_while_blocked  # the connector waits instead of dropping
            assert connector.heartbeat_timeouts == 0 and connector.sessions == 1
            publisher.gate.set()  # Kafka is back
            await until(lambda: sim.sent >= 61 and connector.frames == sim.sent, what="every sent frame")
            await until(lambda: pipe.buffer.empty(), what="the buffer to drain")
        finally:
            await stop(*tasks)
    # Every tick the parsers produced was handed to the publisher: no silent drop.
    assert len(publisher.ticks) == pipe.stats.ticks
    produced = sum(1 for _ in publisher.ticks)
    assert produced >= 60
