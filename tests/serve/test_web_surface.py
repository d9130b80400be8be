"""serve's HTTP surface: the bearer token gate, 400 for a bad query parameter, 404 for an
unknown pair, and no stack trace in any error body (a real aiohttp server on loopback)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from echoarb.serve.app import build_app
from echoarb.serve.feed import Feed
from echoarb.serve.metrics import ServeMetrics
from echoarb.serve.state import SpreadState

TOKEN = "t0ken-Secret"


@pytest.fixture
async def base() -> AsyncIterator[str]:
    state, feed = SpreadState({"fed-rate-march"}), Feed(max_queue=50, close_timeout=30)
    app = build_app(state, feed, ServeMetrics(state, feed), lambda: (True, {}), auth_token=TOKEN)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await feed.close_all()
        await runner.cleanup()


AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_token_gate(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        for path in ("/api/spreads", "/metrics", "/", "/openapi.json"):
            async with session.get(base + path) as resp:
                assert resp.status == 401, path
                assert TOKEN not in await resp.text()
            async with session.get(base + path, headers=AUTH) as resp:
                assert resp.status == 200, path
        async with session.get(base + "/api/spreads", headers={"Authorization": "Bearer nope"}) as resp:
            assert resp.status == 401
        async with session.get(base + "/health") as resp:
            assert resp.status == 200  # probes need no secret
        async with session.get(base + "/static/board.js") as resp:
            assert resp.status == 200  # assets hold nothing secret
            assert "access_token" in await resp.text()  # the board passes the token on
        async with session.get(base + f"/?access_token={TOKEN}") as resp:
            assert resp.status == 200
        async with session.ws_connect(base + f"/ws/spreads?access_token={TOKEN}") as ws:
            assert not ws.closed  # a browser passes the token in the query
        with pytest.raises(aiohttp.WSServerHandshakeError):
            async with session.ws_connect(base + "/ws/spreads"):
                pass


@pytest.mark.parametrize("query", ["min_edge=abc", "min_profit=1e999x", "executable=maybe"])
async def test_bad_query_parameter_is_400_without_a_stack_trace(base: str, query: str) -> None:
    url = base + "/api/spreads?" + query
    async with aiohttp.ClientSession() as session, session.get(url, headers=AUTH) as resp:
        body = await resp.text()
        assert resp.status == 400, body
        assert "Traceback" not in body


async def test_unknown_pair_is_404(base: str) -> None:
    url = base + "/api/pairs/no-such-pair"
    async with aiohttp.ClientSession() as session, session.get(url, headers=AUTH) as resp:
        assert resp.status == 404
        assert "Traceback" not in await resp.text()
