"""A real local HTTP server for the recorded listing bodies (``recorded/<venue>.jsonl``).

Each recorded line is one REST body as a public source shows it (or, where marked,
constructed in the venue's documented shape), with its ``source`` beside it, the ``path``
it answers and the ``page`` it is: the Kalshi ``cursor`` it answers ("" = first page), the
Gamma / Manifold ``offset``. The server pages like the venue: the client has to follow the
cursor or offset it computed from the previous body, or it gets a 404.

``faults`` makes a path answer given statuses first (``{"/markets": [429, 503]}``) so the
client's retries and backoff are exercised against a real socket.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

HERE = Path(__file__).resolve().parent
PAGE_PARAM = {"kalshi": "cursor", "polymarket": "offset", "manifold": "offset"}


@dataclass(frozen=True, slots=True)
class Recorded:
    id: str
    source: str
    path: str
    page: str
    body: str


def load(venue: str) -> list[Recorded]:
    lines = (HERE / "recorded" / f"{venue}.jsonl").read_text(encoding="utf-8").splitlines()
    return [Recorded(**json.loads(line)) for line in lines if line.strip()]


@dataclass
class ListingServer:
    venues: dict[str, dict[tuple[str, str], str]]
    faults: dict[str, list[int]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    base: str = ""

    def url(self, venue: str) -> str:
        return f"{self.base}/{venue}"

    async def handle(self, request: web.Request) -> web.Response:
        venue, _, path = request.path.lstrip("/").partition("/")
        path = "/" + path
        self.requests.append(f"{venue}{path}?{request.query_string}")
        pending = self.faults.get(path)
        if pending:
            status = pending.pop(0)
            headers = {"Retry-After": "0"} if status == 429 else {}
            return web.Response(status=status, text='{"error": "injected"}', headers=headers)
        if venue not in self.venues:
            return web.Response(status=404, text="unknown venue")
        page = request.query.get(PAGE_PARAM[venue], "" if venue == "kalshi" else "0")
        body = self.venues[venue].get((path, page))
        if body is None:
            return web.Response(status=404, text=f"no recorded body for {path} page {page!r}")
        return web.Response(text=body, content_type="application/json")


@asynccontextmanager
async def serve(
    venues: dict[str, list[Recorded]] | None = None, faults: dict[str, list[int]] | None = None
) -> AsyncIterator[ListingServer]:
    if venues is None:
        venues = {venue: load(venue) for venue in PAGE_PARAM}
    table: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
    for venue, recorded in venues.items():
        for item in recorded:
            table[venue][(item.path, item.page)] = item.body
    server = ListingServer(dict(table), faults or {})
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


async def _main() -> None:
    """Serve the recorded listings until Ctrl-C: ``echoarb discover`` without network."""
    import asyncio
    import signal

    async with serve() as server:
        print(
            f"recorded venue listings on {server.base}; export "
            f"KALSHI_API_URL={server.url('kalshi')} POLYMARKET_GAMMA_URL={server.url('polymarket')} "
            f"MANIFOLD_API_URL={server.url('manifold')} (Ctrl-C stops it)",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


if __name__ == "__main__":  # python -m tests.discover.server
    import asyncio

    asyncio.run(_main())
