"""The OpenAPI 3.0 document of ``echoarb serve`` (served at ``/openapi.json``, shown at ``/docs``).

Written as data next to the handlers it describes; ``tests/serve`` checks that every route
of the application is documented and every documented path is routed.
"""

from __future__ import annotations

from typing import Any

_FILTERS: list[dict[str, Any]] = [
    {
        "name": "pair",
        "in": "query",
        "description": "Only these pair ids (repeat the parameter or separate with commas).",
        "schema": {"type": "array", "items": {"type": "string"}},
        "style": "form",
        "explode": True,
    },
    {
        "name": "executable",
        "in": "query",
        "description": "true: only executable opportunities; false: only non-executable ones.",
        "schema": {"type": "boolean"},
    },
    {
        "name": "min_edge",
        "in": "query",
        "description": "Minimum net edge (fraction of cost), e.g. 0.01.",
        "schema": {"type": "string", "format": "decimal", "example": "0.01"},
    },
    {
        "name": "min_profit",
        "in": "query",
        "description": "Minimum net profit in dollars.",
        "schema": {"type": "string", "format": "decimal"},
    },
    {
        "name": "sort",
        "in": "query",
        "description": "Order of the snapshot: net_edge (default) or annualised_return (pairs without a "
        "known resolution time last).",
        "schema": {"type": "string", "enum": ["net_edge", "annualised_return"], "default": "net_edge"},
    },
]

# OpenAPI 3.0 (not 3.1): the Swagger UI of the swagger-ui-bundle wheel (4.x) renders 3.0 only.
_DECIMAL = {
    "type": "string",
    "nullable": True,
    "format": "decimal",
    "description": "exact decimal as a string",
}

_LEG = {
    "type": "object",
    "required": ["venue", "side", "best_price", "avg_price", "size"],
    "properties": {
        "venue": {"type": "string", "enum": ["kalshi", "polymarket", "manifold"]},
        "side": {"type": "string", "enum": ["yes", "no"]},
        "outcome": {"type": "string", "description": "categorical pairs only"},
        "best_price": _DECIMAL,
        "avg_price": _DECIMAL,
        "size": _DECIMAL,
    },
}

_SPREAD = {
    "type": "object",
    "description": "A spread event as published on the spreads topic (decimals as strings).",
    "required": ["id", "key", "pair_id", "kind", "legs", "net_edge", "executable", "event_ts"],
    "properties": {
        "id": {"type": "string", "description": "stable id: duplicates of one event share it"},
        "key": {"type": "string", "description": "pair|kind|legs: one row per key on the board"},
        "pair_id": {"type": "string"},
        "kind": {"type": "string", "enum": ["binary", "categorical_basket"]},
        "legs": {"type": "array", "items": _LEG},
        "gross_edge": _DECIMAL,
        "size": _DECIMAL,
        "cost": _DECIMAL,
        "fees": _DECIMAL,
        "net_profit": _DECIMAL,
        "net_edge": _DECIMAL,
        "executable": {"type": "boolean"},
        "quote_age_ms": {"type": "integer"},
        "event_ts": {"type": "integer", "description": "event time, epoch ms"},
        "computed_at": {"type": "integer", "description": "when the worker computed it, epoch ms"},
        "not_executable_reason": {
            "type": "string",
            "description": "set when the server holds an opportunity not executable: a leg's market "
            "settled or closed, or the pair's live prices suggest an inverted or wrong match",
        },
        "resolution_ts": {
            "type": "integer",
            "description": "expected resolution of the pair's last real-money leg, epoch ms (from the "
            "`echoarb discover` listing; absent when unknown)",
        },
        "days_to_resolution": {"type": "number", "description": "days from the event until resolution_ts"},
        "annualised_return": {
            **_DECIMAL,
            "description": "net profit / (cost + fees) x 365 / days_to_resolution, not compounded",
        },
    },
}

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document(version: str) -> dict[str, Any]:
    spreads_ref = {"$ref": "#/components/schemas/SpreadEvent"}
    error_ref = {"$ref": "#/components/schemas/Error"}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "EchoArb",
            "version": version,
            "description": "Live arbitrage opportunities between prediction markets: the current best "
            "opportunity per pair and direction, per-pair quotes, and a WebSocket push feed.",
        },
        "paths": {
            "/api/spreads": {
                "get": {
                    "summary": "Current opportunity per pair and direction",
                    "description": "The latest spread event of every opportunity key, best net edge first.",
                    "parameters": _FILTERS,
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "count": {"type": "integer"},
                                    "spreads": {"type": "array", "items": spreads_ref},
                                },
                            },
                            "Opportunities",
                        ),
                        "400": _json(error_ref, "A filter does not parse"),
                    },
                }
            },
            "/api/pairs/{pair_id}": {
                "get": {
                    "summary": "One pair: latest quote per venue, staleness, last event, edge history",
                    "parameters": [
                        {"name": "pair_id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "pair_id": {"type": "string"},
                                    "quotes": {"type": "array", "items": {"type": "object"}},
                                    "stale": {"type": "boolean", "nullable": True},
                                    "last_event": {"allOf": [spreads_ref], "nullable": True},
                                    "opportunities": {"type": "array", "items": spreads_ref},
                                    "history": {"type": "object"},
                                },
                            },
                            "The pair",
                        ),
                        "404": _json(error_ref, "Unknown pair id"),
                    },
                }
            },
            "/ws/spreads": {
                "get": {
                    "summary": "WebSocket feed of spread events",
                    "description": "Upgrade to a WebSocket. The first message is "
                    '`{"type": "snapshot", "data": [SpreadEvent...]}` (the current opportunities that '
                    'pass the filters), then one `{"type": "spread", "data": SpreadEvent}` per event. '
                    "Each client has a bounded queue: a client that falls that far behind is closed "
                    "with code 1013 (try again later) and should reconnect.",
                    "parameters": _FILTERS,
                    "responses": {
                        "101": {"description": "Switching protocols"},
                        "400": _json(error_ref, "A filter does not parse"),
                    },
                }
            },
            "/health": {
                "get": {
                    "summary": "Readiness",
                    "responses": {
                        "200": _json({"type": "object"}, "Reading the topics"),
                        "503": _json({"type": "object"}, "Not (yet) reading the topics"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "text exposition format"}},
                }
            },
        },
        "components": {"schemas": {"SpreadEvent": _SPREAD, "Error": _ERROR}},
    }
