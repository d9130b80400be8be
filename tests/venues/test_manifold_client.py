"""The real Manifold connector (REST + WebSocket) against the Manifold simulator."""

from __future__ import annotations

import asyncio
import time

from echoarb.resilience.ratelimit import TokenBucket
from echoarb.venues.connector import ConnectorTiming
from echoarb.venues.manifold.client import ManifoldConnector
from echoarb.venues.manifold.simulator import ManifoldSimulator
from echoarb.venues.simulator import parse_scenario
from tests.venues.live_helpers import FAST, pipeline, stop, until

SLUGS = ["will-fed-cut-rates-march", "will-the-us-enter-a-recession-in-2026"]


def _sim(*scenarios: str, slugs: list[str] | None = None) -> ManifoldSimulator:
    return ManifoldSimulator([parse_scenario(s) for s in scenarios], interval=0.005, slugs=slugs)


async def test_resolves_slugs_over_rest_then_subscribes_contract_topics() -> None:
    pipe, publisher = pipeline()
    async with _sim("stream") as sim:
        connector = ManifoldConnector(sim.url(), sim.api_url, SLUGS, pipe.on_frame, FAST)
        tasks = [asyncio.create_task(connector.run()), asyncio.create_task(pipe.run())]
        try:
            await until(lambda: len(publisher.ticks) >= 20 and sim.pings >= 2, what="ticks and pings")
        finally:
            await stop(*tasks)
    assert sim.rest_requests == [f"/v0/slug/{s}" for s in SLUGS]
    ids = [sim.contract_id(s) for s in SLUGS]
    assert connector.ids == dict(zip(SLUGS, ids, strict=True))
    subscribe = sim.commands[0]
    assert subscribe["type"] == "subscribe"
    assert sorted(subscribe["topics"]) == sorted(
        [f"contract/{i}" for i in ids] + [f"contract/{i}/new-bet" for i in ids]
    )
    assert {t.pair_id for t in publisher.ticks} == {"fed-rate-march", "us-recession-2026"}
    assert all(t.venue == "manifold" and not t.real_money for t in publisher.ticks)
    assert pipe.stats.parse_errors == 0


async def test_reconnect_refreshes_over_rest_and_resubscribes() -> None:
    pipe, _ = pipeline()
    async with _sim("updates:3,disconnect", "stream") as sim:
        connector = ManifoldConnector(sim.url(), sim.api_url, SLUGS, pipe.on_frame, FAST)
        task = asyncio.create_task(connector.run())
        try:
            await until(lambda: connector.sessions == 2 and connector.frames > 10, what="a second session")
        finally:
            await stop(task)
    assert sim.rest_requests == [f"/v0/slug/{s}" for s in SLUGS] * 2
    assert [c["type"] for c in sim.commands if c["type"] == "subscribe"] == ["subscribe", "subscribe"]


async def test_unknown_slug_is_skipped_and_the_others_still_stream() -> None:
    pipe, publisher = pipeline()
    async with _sim("stream", slugs=SLUGS[:1]) as sim:
        connector = ManifoldConnector(sim.url(), sim.api_url, SLUGS, pipe.on_frame, FAST)
        tasks = [asyncio.create_task(connector.run()), asyncio.create_task(pipe.run())]
        try:
            await until(lambda: len(publisher.ticks) >= 5, what="ticks")
        finally:
            await stop(*tasks)
    assert connector.rest_failures == 1 and list(connector.ids) == SLUGS[:1]


async def test_rest_requests_respect_the_token_bucket() -> None:
    slugs = [f"market-{i}" for i in range(6)]
    pipe, _ = pipeline()
    bucket = TokenBucket(rate=50.0, capacity=1)  # 1 request now, then one per 20 ms
    async with _sim("wait:5") as sim:
        connector = ManifoldConnector(sim.url(), sim.api_url, slugs, pipe.on_frame, FAST, bucket=bucket)
        started = time.monotonic()
        await connector.refresh()
        elapsed = time.monotonic() - started
    assert len(sim.rest_requests) == 6
    assert elapsed >= 5 * 0.02 * 0.95  # a lower bound only: the bucket can never be faster


async def test_silent_stall_times_out_and_reconnects() -> None:
    pipe, _ = pipeline()
    timing = ConnectorTiming(ping_interval=0.05, heartbeat_timeout=0.3, backoff_base=0.01, backoff_cap=0.02)
    async with _sim("updates:2,stall", "stream") as sim:
        connector = ManifoldConnector(sim.url(), sim.api_url, SLUGS, pipe.on_frame, timing)
        task = asyncio.create_task(connector.run())
        try:
            await until(
                lambda: connector.heartbeat_timeouts == 1 and connector.sessions == 2, what="reconnect"
            )
        finally:
            await stop(task)
