"""The bearer-token gate of the HTTP surfaces, against a real aiohttp server."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from echoarb.web_auth import authorized, bearer_middleware, is_loopback


def test_loopback_hosts() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5") and not is_loopback("example.com")


def test_authorized() -> None:
    assert authorized({}, None)
    assert authorized({"Authorization": "Bearer s3cret"}, "s3cret")
    assert authorized({"Authorization": "bearer s3cret"}, "s3cret")
    assert not authorized({}, "s3cret")
    assert not authorized({"Authorization": "Bearer wrong"}, "s3cret")
    assert not authorized({"Authorization": "Basic s3cret"}, "s3cret")


async def test_middleware_on_a_real_server() -> None:
    app = web.Application(middlewares=[bearer_middleware("s3cret")])

    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/api/spreads", ok)
    app.router.add_get("/health", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as session:
            base = f"http://127.0.0.1:{port}"
            async with session.get(f"{base}/api/spreads") as resp:
                assert resp.status == 401
                assert "WEB_AUTH_TOKEN" in (await resp.json())["error"]
                assert "s3cret" not in await resp.text()
            async with session.get(f"{base}/api/spreads", headers={"Authorization": "Bearer s3cret"}) as resp:
                assert resp.status == 200
            async with session.get(f"{base}/health") as resp:
                assert resp.status == 200  # probes need no secret
    finally:
        await runner.cleanup()
