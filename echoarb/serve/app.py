"""The aiohttp application of ``echoarb serve`` and the service that runs it with its source.

aiohttp because it is already installed (Faust's web server is aiohttp), it serves HTTP and
WebSockets from one event loop, and its WebSocket writes await the socket's drain, which is
what the per-client queues in :mod:`echoarb.serve.feed` are measured against.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import json
import logging
import time
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from echoarb.alerts.delivery import AlertDispatcher
from echoarb.alerts.engine import AlertEngine
from echoarb.alerts.rules import AlertsConfig
from echoarb.serve.feed import Feed
from echoarb.serve.lag import LagMonitor
from echoarb.serve.metrics import CONTENT_TYPE, ServeMetrics
from echoarb.serve.openapi import document
from echoarb.serve.source import SpreadSource
from echoarb.serve.state import FilterError, SpreadFilter, SpreadState
from echoarb.web_auth import bearer_middleware, warn_if_exposed

log = logging.getLogger("echoarb.serve")

STATIC_DIR = Path(__file__).resolve().parent / "static"

STATE: web.AppKey[SpreadState] = web.AppKey("state", SpreadState)
FEED: web.AppKey[Feed] = web.AppKey("feed", Feed)
METRICS: web.AppKey[ServeMetrics] = web.AppKey("metrics", ServeMetrics)
HEALTH: web.AppKey[Any] = web.AppKey("health", object)
MAX_AGE: web.AppKey[int] = web.AppKey("max_age", int)


def _version() -> str:
    try:
        return importlib.metadata.version("echoarb")
    except importlib.metadata.PackageNotFoundError:
        return "0"


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, dumps=_dumps)


def _filter(request: web.Request) -> SpreadFilter:
    try:
        return SpreadFilter.from_query(request.query)
    except FilterError as exc:
        raise web.HTTPBadRequest(text=_dumps({"error": str(exc)}), content_type="application/json") from None


async def spreads(request: web.Request) -> web.Response:
    rows = request.app[STATE].snapshot(_filter(request))
    return web.json_response({"count": len(rows), "spreads": rows}, dumps=_dumps)


async def pair(request: web.Request) -> web.Response:
    pair_id = request.match_info["pair_id"]
    state = request.app[STATE]
    if not state.knows_pair(pair_id):
        return _error(404, f"unknown pair {pair_id!r}")
    body = state.pair(pair_id, int(time.time() * 1000), request.app[MAX_AGE])
    return web.json_response(body, dumps=_dumps)


async def ws_spreads(request: web.Request) -> web.StreamResponse:
    flt = _filter(request)  # before the upgrade: a bad filter is a plain 400
    socket = web.WebSocketResponse(heartbeat=20.0, max_msg_size=64 * 1024)
    await socket.prepare(request)
    state, feed = request.app[STATE], request.app[FEED]
    transport = request.transport

    def abort() -> None:
        if transport is not None:
            transport.abort()

    peer = request.remote or "?"
    client = feed.attach(socket, flt, state.snapshot(flt), abort, peer)
    try:
        async for msg in socket:  # the feed is one-way; reading keeps pings and closes flowing
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        feed.detach(client)
        if client.writer is not None:
            with contextlib.suppress(BaseException):
                await client.writer
    return socket


async def health(request: web.Request) -> web.Response:
    ok, body = request.app[HEALTH]()
    return web.json_response(body, status=200 if ok else 503, dumps=_dumps)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=request.app[METRICS].render(), headers={"Content-Type": CONTENT_TYPE})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document(_version()), dumps=_dumps)


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>EchoArb API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>
"""


async def docs(request: web.Request) -> web.Response:
    return web.Response(text=_DOCS_PAGE, content_type="text/html")


async def board(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


def build_app(
    state: SpreadState,
    feed: Feed,
    serve_metrics: ServeMetrics,
    health_check: Any,
    *,
    max_quote_age_ms: int = 30_000,
    auth_token: str | None = None,
) -> web.Application:
    """``health_check()`` returns ``(ok, body)``; with ``auth_token`` every path but /health
    needs it (see :mod:`echoarb.web_auth`)."""
    app = web.Application(middlewares=[bearer_middleware(auth_token)] if auth_token else [])
    app[STATE] = state
    app[FEED] = feed
    app[METRICS] = serve_metrics
    app[HEALTH] = health_check
    app[MAX_AGE] = max_quote_age_ms
    app.router.add_get("/", board)
    app.router.add_static("/static/", STATIC_DIR)
    app.router.add_get("/api/spreads", spreads)
    app.router.add_get("/api/pairs/{pair_id}", pair)
    app.router.add_get("/ws/spreads", ws_spreads)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/docs", docs)
    try:
        import swagger_ui_bundle

        app.router.add_static("/docs/static/", swagger_ui_bundle.swagger_ui_path)
    except ImportError:  # pragma: no cover - a declared dependency
        log.warning("swagger-ui-bundle is not installed: /docs has no assets")
    return app


class ServeService:
    """Source (Kafka) -> state -> feed, plus the HTTP site. ``run()`` until cancelled."""

    def __init__(
        self,
        source: SpreadSource,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        max_queue: int = 1000,
        max_quote_age_ms: int = 30_000,
        alerts: AlertsConfig | None = None,
        lag_group: str | None = None,
        auth_token: str | None = None,
    ) -> None:
        """``lag_group``: the stream workers' consumer group, whose lag on the tick topics
        this server reports (it reads those partitions anyway)."""
        self.source = source
        self.state = source.state
        self.feed = Feed(max_queue=max_queue)
        self.metrics = ServeMetrics(self.state, self.feed, lambda: source.decode_errors)
        source.listeners.append(self.metrics.on_event)
        source.listeners.append(self.feed.publish)
        self.alerts: AlertDispatcher | None = None
        self.alert_engine: AlertEngine | None = None
        if alerts is not None and alerts.rules:
            self.alert_engine = AlertEngine(alerts.rules, clock=time.monotonic)
            self.alerts = AlertDispatcher(alerts)
            source.listeners.append(self._alert)
            self.metrics.add_alerts(self.alerts, self.alert_engine)
        self.host = host
        self.port = port
        self.app = build_app(
            self.state,
            self.feed,
            self.metrics,
            self.health,
            max_quote_age_ms=max_quote_age_ms,
            auth_token=auth_token,
        )
        warn_if_exposed("serve", host, auth_token)
        self.lag: LagMonitor | None = None
        if lag_group and source.ticks:
            s = source.settings
            topics = [s.tick_topic(v) for v in ("kalshi", "polymarket", "manifold")]
            self.lag = LagMonitor(
                source.bootstrap, lag_group, topics, source, consumer_kwargs=source.consumer_kwargs
            )
            self.metrics.add_lag(self.lag)
        self._lag_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self.started = asyncio.Event()
        self._source_task: asyncio.Task[None] | None = None

    def _alert(self, current: Any) -> None:
        assert self.alert_engine is not None and self.alerts is not None
        for alert in self.alert_engine.evaluate(current.event):
            self.alerts.submit(alert)

    def health(self) -> tuple[bool, dict[str, Any]]:
        task = self._source_task
        failed = task is not None and task.done()
        ok = self.source.ready.is_set() and not failed
        return ok, {
            "status": "ok" if ok else ("failed" if failed else "starting"),
            "reading": self.source.ready.is_set(),
            "records": self.source.records,
            "spread_events": self.state.events,
            "opportunities": len(self.state.current),
            "clients": len(self.feed.clients),
        }

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        if self.port == 0:
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            self.port = int(sockets[0].getsockname()[1])
        if self.alerts is not None:
            await self.alerts.start()
        self._source_task = asyncio.create_task(self.source.run(), name="serve-source")
        if self.lag is not None:
            self._lag_task = asyncio.create_task(self.lag.run(), name="serve-lag")
        self.started.set()

    async def run(self) -> None:
        if self._runner is None:
            await self.start()
        assert self._source_task is not None
        await self._source_task  # raises if the source fails

    async def stop(self) -> None:
        if self._lag_task is not None:
            self._lag_task.cancel()
            with contextlib.suppress(BaseException):
                await self._lag_task
        if self._source_task is not None:
            self._source_task.cancel()
            with contextlib.suppress(BaseException):
                await self._source_task
        await self.feed.close_all()
        if self.alerts is not None:
            await self.alerts.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
