"""The WebSocket fan-out over a real aiohttp server: a client that stops reading is closed with
1013 while a reading client gets every event, in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from echoarb.serve.app import build_app
from echoarb.serve.feed import CLOSE_TRY_AGAIN_LATER, Feed
from echoarb.serve.metrics import ServeMetrics
from echoarb.serve.state import SpreadState
from echoarb.wire.records import spread_record_to_json
from tests.serve.helpers import spread_record


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, SpreadState, Feed]]:
    state, feed = SpreadState({"fed-rate-march"}), Feed(max_queue=50, close_timeout=30)
    app = build_app(state, feed, ServeMetrics(state, feed), lambda: (True, {}))
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", state, feed
    finally:
        await feed.close_all()
        await runner.cleanup()


async def test_slow_client_closed_with_1013_fast_client_gets_everything(
    server: tuple[str, SpreadState, Feed],
) -> None:
    base, state, feed = server
    big = "x" * 2000  # fat events fill the slow client's socket buffers sooner
    async with aiohttp.ClientSession(base) as http:
        slow = await http.ws_connect("/ws/spreads", max_msg_size=0)
        fast = await http.ws_connect("/ws/spreads")
        assert (await fast.receive_json(timeout=5))["type"] == "snapshot"
        received: list[str] = []

        async def read_fast() -> None:
            while True:
                msg = await fast.receive(timeout=10)
                if msg.type != aiohttp.WSMsgType.TEXT:
                    return
                received.append(msg.json()["data"]["id"])

        reader = asyncio.create_task(read_fast())
        sent: list[str] = []
        for i in range(20_000):
            event = spread_record_to_json(spread_record(event_ts=1_000 + i))
            event["padding"] = big
            sent.append(event["id"])
            feed.publish(state.apply_event(event))
            if i % 50 == 0:
                await asyncio.sleep(0)  # the source yields between fetches, like this
            if feed.slow_closed:
                break
        assert feed.slow_closed == 1, "the client that never read was not closed"
        assert len(feed.clients) == 1
        for i in range(200):  # the feed goes on for the fast client
            event = spread_record_to_json(spread_record(event_ts=10_000_000 + i))
            sent.append(event["id"])
            feed.publish(state.apply_event(event))
            await asyncio.sleep(0)
        async with asyncio.timeout(20):
            while len(received) < len(sent):
                await asyncio.sleep(0.02)
        assert received == sent
        reader.cancel()
        # The slow client, reading at last, finds its queued messages and then the 1013 close.
        closed = None
        async with asyncio.timeout(20):
            while True:
                msg = await slow.receive()
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    closed = slow.close_code
                    break
        assert closed == CLOSE_TRY_AGAIN_LATER
