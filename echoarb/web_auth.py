"""Who may read EchoArb's HTTP surfaces: loopback by default, a bearer token beyond it.

Every server (worker web views, ``serve``, ``/metrics``) binds 127.0.0.1 unless its host
setting says otherwise. Binding elsewhere is an explicit setting; with ``WEB_AUTH_TOKEN``
set, every request must carry ``Authorization: Bearer <token>``, compared in constant time.
Health checks stay open so that orchestrators can probe without the secret.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from aiohttp.typedefs import Middleware

log = logging.getLogger("echoarb.web")

OPEN_PATHS = frozenset({"/health", "/healthz", "/ready"})
# Static assets of the board and the docs page hold nothing secret; the page itself is gated.
OPEN_PREFIXES = ("/static/", "/docs/static/")


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def authorized(headers: Mapping[str, str], token: str | None, query_token: str | None = None) -> bool:
    """True when no token is configured, or the request carries exactly that token.

    ``Authorization: Bearer <token>`` for programs; ``?access_token=`` (``query_token``) for
    what cannot set headers: a browser opening the board or its WebSocket.
    """
    if not token:
        return True
    value = headers.get("Authorization", "")
    scheme, _, given = value.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    return query_token is not None and hmac.compare_digest(query_token.encode(), token.encode())


def warn_if_exposed(what: str, host: str, token: str | None) -> None:
    """One line when a surface is reachable beyond this machine without a token."""
    if not is_loopback(host) and not token:
        log.warning("%s binds %s without WEB_AUTH_TOKEN: anyone who can reach it can read it", what, host)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def bearer_middleware(token: str | None) -> Middleware:
    """aiohttp middleware: 401 with a JSON body for a missing or wrong token."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if (
            request.path in OPEN_PATHS
            or request.path.startswith(OPEN_PREFIXES)
            or authorized(request.headers, token, request.query.get("access_token"))
        ):
            return await handler(request)
        return web.json_response(
            {"error": "unauthorized: send Authorization: Bearer <WEB_AUTH_TOKEN>"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="echoarb"'},
        )

    return middleware
