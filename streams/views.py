"""The worker's web views: health, metrics, and the pair state it holds.

Faust serves them on the worker's web port. ``/pairs/{id}/`` and ``/windows/{id}/`` are table
routes: any worker answers for any pair by forwarding to the worker that holds the pair's
partition, so a dashboard needs one address, not the partition map.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import faust

from echoarb.model import Ladder
from echoarb.pairs import MarketPair
from echoarb.scan.scanner import ScanParams, load_state
from echoarb.scan.state import PairState
from streams.metrics import CONTENT_TYPE, render, worker_registry
from streams.stats import WorkerStats


def _price(levels: Ladder) -> str | None:
    return format(levels[0].price, "f") if levels else None


class Views:
    def __init__(
        self,
        table: Any,
        pairs: dict[str, MarketPair],
        params: ScanParams,
        stats: Callable[[], WorkerStats],
        worker_name: int,
    ) -> None:
        self.table = table
        self.pairs = pairs
        self.params = params
        self.stats = stats
        self.worker_name = worker_name

    def register(self, app: faust.App) -> None:
        table = self.table
        registry = worker_registry(self.stats)

        # Faust binds a page function to its View: plain functions, not bound methods.
        async def health(web: Any, request: Any) -> Any:
            return self.health(web)

        async def metrics(web: Any, request: Any) -> Any:
            return web.bytes(render(registry), content_type=CONTENT_TYPE)

        async def spreads(web: Any, request: Any) -> Any:
            return self.spreads(web)

        async def pair(web: Any, request: Any, pair_id: str) -> Any:
            return self.pair(web, pair_id)

        async def windows(web: Any, request: Any, pair_id: str) -> Any:
            return self.windows(web, pair_id)

        app.page("/health")(health)
        app.page("/metrics")(metrics)
        app.page("/spreads/")(spreads)
        app.page("/pairs/{pair_id}/")(app.table_route(table=table, match_info="pair_id")(pair))
        app.page("/windows/{pair_id}/")(app.table_route(table=table, match_info="pair_id")(windows))

    def _state(self, pair_id: str) -> PairState | None:
        raw = self.table.get(pair_id.encode())
        return None if raw is None else load_state(pair_id, self.params, raw)

    def health(self, web: Any) -> Any:
        """200 only when the worker holds partitions, recovered its tables and is not rebalancing."""
        stats = self.stats()
        return web.json(stats.health(), status=200 if stats.ready else 503)

    def spreads(self, web: Any) -> Any:
        """Current best opportunity per pair held by this worker (its partitions)."""
        out: dict[str, Any] = {}
        for key in list(self.table.keys()):
            raw = self.table.get(key)
            if not raw:
                continue
            pair_id = key.decode() if isinstance(key, bytes) else str(key)
            state = load_state(pair_id, self.params, raw)
            out[pair_id] = {
                "best": None if state.best is None else state.best.to_json(),
                "executable": sorted(state.executable),
                "last_event_ts": state.last_event_ts,
            }
        return web.json({"worker": self.worker_name, "pairs": out})

    def pair(self, web: Any, pair_id: str) -> Any:
        if pair_id not in self.pairs:
            return web.json({"error": f"unknown pair {pair_id!r}"}, status=404)
        state = self._state(pair_id)
        if state is None:
            return web.json({"pair_id": pair_id, "quotes": {}, "note": "no ticks yet"})
        newest = state.last_event_ts
        quotes = {
            key: {
                "best_yes_ask": _price(tick.yes_asks),
                "best_no_ask": _price(tick.no_asks),
                "yes_levels": len(tick.yes_asks),
                "no_levels": len(tick.no_asks),
                "status": tick.status,
                "in_sync": tick.in_sync,
                "event_ts": tick.event_ts,
                "staleness_ms": newest - tick.event_ts,
            }
            for key, tick in state.quotes.items()
        }
        return web.json(
            {
                "pair_id": pair_id,
                "quotes": quotes,
                "executable": sorted(state.executable),
                "best": None if state.best is None else state.best.to_json(),
                "last_spread": None if state.last_spread is None else state.last_spread.to_json(),
                "last_event_ts": newest,
            }
        )

    def windows(self, web: Any, pair_id: str) -> Any:
        if pair_id not in self.pairs:
            return web.json({"error": f"unknown pair {pair_id!r}"}, status=404)
        state = self._state(pair_id)
        if state is None:
            return web.json({"pair_id": pair_id, "recent": [], "open": []})
        return web.json(
            {
                "pair_id": pair_id,
                "recent": [w.to_json() for w in state.recent_windows],
                "open": [{"window": w.name, "open": w.to_json()["open"]} for w in state.windows],
            }
        )
