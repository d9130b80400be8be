"""Manifold simulator: REST ``GET /v0/slug/{slug}`` and the ``/ws`` WebSocket on one port.

For discovery, ``GET /v0/search-markets`` (``term``, ``limit``, ``offset``) and ``GET
/v0/markets`` (``limit``, ``before``) list the model's markets (``echoarb.venues.sim_listing``)
as lite markets: question, ``closeTime`` (the expected resolution), url, ``token: MANA``.

Plain HTTP requests are answered from the upgrade hook (``process_request``), so one
``websockets`` server serves both. Unknown slugs get 404 like the real API. The WebSocket
acks subscribes and pings, then broadcasts ``new-bet`` and (every fourth update) contract
updates with a random-walk probability, plus now and then a partial contract update without
a probability (``lastBetTime`` only), as the venue sends them.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any
from urllib.parse import parse_qs

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from echoarb.venues.manifold import messages
from echoarb.venues.simulator import Session, VenueSimulator, int_param

FAR_FUTURE_MS = 4102444800000  # 2100-01-01


class ManifoldSimulator(VenueSimulator):
    venue = "manifold"
    ws_path = "/ws"

    def __init__(self, *args: Any, slugs: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.known_slugs: set[str] | None = set(slugs) if slugs is not None else None  # None = any
        self.probs: dict[str, int] = {}  # contract id -> probability in basis points
        self.slugs_by_id: dict[str, str] = {}
        self.rest_requests: list[str] = []
        self.pings = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v0"

    @staticmethod
    def contract_id(slug: str) -> str:
        return hashlib.sha1(slug.encode()).hexdigest()[:20]

    def _market(self, slug: str) -> dict[str, Any]:
        cid = self.contract_id(slug)
        self.slugs_by_id[cid] = slug
        target = self._model_bps(slug)
        bps = self.probs.setdefault(cid, target if target is not None else self.rng.randint(2000, 8000))
        listed = next((m for m in self.listed if m.instrument == slug), None)
        if listed is None:
            return messages.market(
                cid,
                slug,
                slug.replace("-", " ").capitalize() + "?",
                bps,
                pool={"YES": 1000, "NO": 1000},
                close_time=FAR_FUTURE_MS,
                last_updated=time.time_ns() // 1_000_000,
            )
        return messages.market(
            cid,
            slug,
            listed.question,
            bps,
            pool={"YES": 1000, "NO": 1000},
            close_time=listed.resolve_s * 1000,
            last_updated=time.time_ns() // 1_000_000,
            creator=("echoarb-sim", "echoarb"),
            created_time=listed.open_s * 1000,
            url=f"https://manifold.markets/echoarb/{slug}",
            volume=1000,
        )

    def _search(self, path: str, params: dict[str, list[str]]) -> Response:
        """``/search-markets`` (term, offset) and ``/markets`` (before): the listed lite markets."""
        bodies = [self._market(m.instrument) for m in self.listed]
        limit = int_param(params, "limit", 100) or 100
        if path.endswith("/markets"):
            before = (params.get("before") or [""])[0]
            ids = [b["id"] for b in bodies]
            start = ids.index(before) + 1 if before in ids else 0
            return _json_response(200, bodies[start : start + limit])
        term = (params.get("term") or [""])[0].lower()
        bodies = [b for b in bodies if all(w in b["question"].lower() for w in term.split())]
        offset = int_param(params, "offset", 0)
        return _json_response(200, bodies[offset : offset + limit])

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        if path == self.ws_path:
            return None
        self.rest_requests.append(path)
        parts = [p for p in path.split("/") if p]
        if parts[-1:] in (["search-markets"], ["markets"]):
            return self._search(path, parse_qs(query))
        if len(parts) >= 2 and parts[-2] == "slug":
            slug = parts[-1]
            if self.known_slugs is None or slug in self.known_slugs:
                return _json_response(200, self._market(slug))
            return _json_response(404, {"message": "Contract not found"})
        return _json_response(404, {"message": "Not found"})

    async def on_message(self, session: Session, text: str) -> None:
        try:
            cmd = json.loads(text)
        except ValueError:
            return
        if not isinstance(cmd, dict):
            return
        self.commands.append(cmd)
        txid = cmd.get("txid")
        if cmd.get("type") == "ping":
            self.pings += 1
            await self.send(session, messages.ack(txid))
        elif cmd.get("type") == "subscribe":
            topics: set[str] = session.state.setdefault("topics", set())
            topics.update(t for t in cmd.get("topics") or [] if isinstance(t, str))
            await self.send(session, messages.ack(txid))
            session.subscribed.set()
        else:
            await self.send(session, messages.ack(txid, success=False))

    async def send_update(self, session: Session) -> None:
        ids = sorted({t.split("/")[1] for t in session.state.get("topics", ()) if t.startswith("contract/")})
        if not ids:
            return
        cid = self.rng.choice(ids)
        target = self._model_bps(self.slugs_by_id.get(cid, ""))
        if target is not None:
            bps = target
        else:
            bps = min(9900, max(100, self.probs.get(cid, 5000) + self.rng.randint(-150, 150)))
        self.probs[cid] = bps
        now = time.time_ns() // 1_000_000
        if self.sent % 6 == 5:  # a partial update without a probability (the venue sends those)
            await self.send(session, messages.contract_update(cid, None, now, last_bet_time=now))
        elif self.sent % 4 == 3:
            await self.send(session, messages.contract_update(cid, bps, now))
        else:
            bet = messages.bet(f"bet{self.sent}", "sim", cid, now, 10, "YES", bps, bps)
            await self.send(session, messages.new_bets(cid, [bet]))

    def _model_bps(self, slug: str) -> int | None:
        """The model's probability for a slug, in basis points (the AMM has no spread)."""
        if self.model is None:
            return None
        mid = self.model.mid(self.venue, slug, time.time())
        return None if mid is None else mid * 100

    def malformed(self) -> str:
        return messages.MALFORMED


def _json_response(status: int, body: Any) -> Response:
    payload = json.dumps(body).encode()
    reason = {200: "OK", 404: "Not Found", 429: "Too Many Requests"}.get(status, "")
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return Response(status, reason, headers, payload)
