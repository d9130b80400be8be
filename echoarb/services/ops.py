"""``/metrics`` and ``/health`` for a long-running process that has no HTTP server of its own
(ingest, sink). aiohttp on the process's own event loop, so a health check sees the loop's
real state: a wedged loop answers nothing, which is what a probe should notice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

from echoarb.web_auth import bearer_middleware, warn_if_exposed

log = logging.getLogger("echoarb.ops")

HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class OpsServer:
    def __init__(
        self,
        health: HealthCheck,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        registry: CollectorRegistry = REGISTRY,
        auth_token: str | None = None,
    ) -> None:
        self.health = health
        self.auth_token = auth_token
        self.host = host
        self.port = port
        self.registry = registry
        self._runner: web.AppRunner | None = None

    async def _health(self, request: web.Request) -> web.Response:
        ok, body = self.health()
        return web.json_response(
            {"status": "ok" if ok else "unavailable", **body},
            status=200 if ok else 503,
            dumps=lambda obj: json.dumps(obj, default=str),
        )

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE})

    async def start(self) -> None:
        # /metrics needs WEB_AUTH_TOKEN when one is set; /health stays open for probes.
        app = web.Application(middlewares=[bearer_middleware(self.auth_token)] if self.auth_token else [])
        app.router.add_get("/health", self._health)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        if self.port == 0:
            self.port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        warn_if_exposed("metrics", self.host, self.auth_token)
        log.info("metrics and health on http://%s:%d/metrics, /health", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
