"""What every venue simulator shares: the server, connection bookkeeping and scripted scenarios.

A scenario is a plain list of steps run on one connection once the client subscribed;
connection ``i`` runs ``scenarios[min(i, len - 1)]``, so "first connection misbehaves, the
reconnect is healthy" is ``[[...faults...], [stream]]``. Steps:

``updates:N``   send N updates, one every ``interval`` seconds
``stream``      send updates forever
``gap``         (Kalshi) skip one sequence number on the order book subscription
``malformed``   send a frame that is not valid JSON
``disconnect``  drop the TCP connection without a close frame (a network failure)
``close``       close the WebSocket normally
``stall[:S]``   go silent: send nothing and read nothing (no pongs) for S s (default: forever)
``wait:S``      do nothing for S seconds (keep answering pings and commands)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from echoarb.venues.sim_listing import SimMarket, sim_markets

if TYPE_CHECKING:
    from echoarb.venues.market_model import MarketModel

log = logging.getLogger("echoarb.simulate")

STEP_KINDS = ("updates", "stream", "gap", "malformed", "disconnect", "close", "stall", "wait")


@dataclass(frozen=True, slots=True)
class Step:
    kind: str
    arg: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in STEP_KINDS:
            raise ValueError(f"unknown scenario step {self.kind!r} (one of {', '.join(STEP_KINDS)})")


Scenario = Sequence[Step]


def parse_scenario(text: str) -> list[Step]:
    """``"updates:5,gap,stream"`` -> steps."""
    steps = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, _, arg = item.partition(":")
        steps.append(Step(kind, float(arg) if arg else 0.0))
    return steps


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


_REASONS = {200: "OK", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}


def int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    """A non-negative integer query parameter (``limit``, ``offset``); ``default`` if absent or bad."""
    try:
        return max(0, int((query.get(name) or [str(default)])[0]))
    except ValueError:
        return default


def json_response(status: int, body: Any) -> Response:
    """A plain HTTP answer (REST) from the upgrade hook: one server speaks WebSocket and REST."""
    payload = json.dumps(body).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return Response(status, _REASONS.get(status, "Service Unavailable"), headers, payload)


class Session:
    """One client connection: its scenario runs once the first subscription was served."""

    def __init__(self, ws: ServerConnection, index: int) -> None:
        self.ws = ws
        self.index = index
        self.subscribed = asyncio.Event()
        self.state: dict[str, Any] = {}


class VenueSimulator(ABC):
    venue = ""
    ws_path = "/"

    def __init__(
        self,
        scenarios: Sequence[Scenario] | None = None,
        *,
        interval: float = 0.05,
        seed: int = 7,
        model: MarketModel | None = None,
    ) -> None:
        self.scenarios: list[Scenario] = list(scenarios) if scenarios else [[Step("stream")]]
        #: With a model, books follow its moving prices (updates move them to its target book);
        #: without, they random-walk from random mids.
        self.model = model
        #: The model's markets of this venue, answered on the venue's listing endpoints
        #: (``echoarb discover`` against a simulator finds the simulated pairs); none without a model.
        self.listed: list[SimMarket] = (
            [] if model is None else sim_markets(model.pairs, self.venue, seed=model.seed)
        )
        self.interval = interval
        self.rng = random.Random(seed)
        self.connections = 0
        self.commands: list[dict[str, Any]] = []  # every JSON command received, in order
        self.sent = 0
        self.sessions: list[Session] = []
        #: REST paths requested (with their query), in order.
        self.rest_requests: list[str] = []
        #: When set, every REST request is answered with this HTTP status (a venue outage).
        self.rest_fail_status: int | None = None
        self._server: Server | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        self._server = await serve(
            self._handle,
            host,
            port,
            process_request=self._process_request,
            ping_interval=None,
            close_timeout=1,
        )
        return self

    @property
    def port(self) -> int:
        assert self._server is not None, "simulator not started"
        return int(next(iter(self._server.sockets)).getsockname()[1])

    def url(self, path: str | None = None) -> str:
        return f"ws://127.0.0.1:{self.port}{self.ws_path if path is None else path}"

    @property
    def http_url(self) -> str:
        """``http://127.0.0.1:<port>``: the REST side of the same server."""
        return f"http://127.0.0.1:{self.port}"

    def rest_failure(self, path: str) -> Response | None:
        """Record a REST request; the configured outage answer, if any."""
        self.rest_requests.append(path)
        if self.rest_fail_status is not None:
            return json_response(self.rest_fail_status, {"error": "simulated outage"})
        return None

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 3)
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- per venue ---------------------------------------------------------------------------------
    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Reject or answer a request before the upgrade (auth, plain REST); None = accept."""
        return None

    @abstractmethod
    async def on_message(self, session: Session, text: str) -> None:
        """A client frame (commands, pings)."""

    @abstractmethod
    async def send_update(self, session: Session) -> None:
        """One market data update."""

    def malformed(self) -> str:
        return '{"type":"broken",'

    def target_book(self, instrument: str) -> tuple[dict[int, int], dict[int, int]] | None:
        """The model's (bids, asks) in cents for ``instrument`` now, if a model is set and knows it."""
        if self.model is None:
            return None
        return self.model.book(self.venue, instrument, time.time())

    async def send_gap(self, session: Session) -> None:  # noqa: B027 - optional hook
        """Default: venues without sequence numbers have no gap to make."""

    # -- machinery -------------------------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        return self.process_request(connection, request)

    async def send(self, session: Session, text: str) -> None:
        await session.ws.send(text)
        self.sent += 1

    async def _handle(self, ws: ServerConnection) -> None:
        session = Session(ws, self.connections)
        self.connections += 1
        self.sessions.append(session)
        steps = self.scenarios[min(session.index, len(self.scenarios) - 1)]
        runner = asyncio.create_task(self._run_steps(session, steps))
        try:
            async for message in ws:
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                await self.on_message(session, text)
        except ConnectionClosed:
            pass
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)

    async def _run_steps(self, session: Session, steps: Scenario) -> None:
        await session.subscribed.wait()
        try:
            for step in steps:
                if not await self._step(session, step):
                    return
        except ConnectionClosed:
            return

    async def _step(self, session: Session, step: Step) -> bool:
        ws = session.ws
        if step.kind == "updates" or step.kind == "stream":
            count = int(step.arg) if step.kind == "updates" else -1
            while count != 0:
                await asyncio.sleep(self.interval)
                await self.send_update(session)
                count -= 1
        elif step.kind == "gap":
            await self.send_gap(session)
        elif step.kind == "malformed":
            await self.send(session, self.malformed())
        elif step.kind == "wait":
            await asyncio.sleep(step.arg)
        elif step.kind == "close":
            await ws.close()
            return False
        elif step.kind == "disconnect":
            ws.transport.abort()
            return False
        elif step.kind == "stall":
            ws.transport.pause_reading()  # no frames, no pongs: a dead peer
            if step.arg <= 0:
                # Forever, as far as this client can tell; drop the socket once it reconnected.
                while self.connections <= session.index + 1:
                    await asyncio.sleep(0.01)
                ws.transport.abort()
                return False
            await asyncio.sleep(step.arg)
            ws.transport.resume_reading()
        return True
