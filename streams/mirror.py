"""Mirror of each pair's open windows into Faust windowed tables (tumbling and hopping).

The windows themselves live in the pair state (``echoarb.scan.windows``) and close on event
time; the mirror exposes them as Faust windowed tables so Faust's own table tooling
(changelogs, ``.current()``/``.delta()`` lookups) sees the same figures. A windowed table's
time axis comes from a callable: ours reads the event time of the state being mirrored from
a context variable, so the mirror follows event time, not the wall clock.
"""

from __future__ import annotations

import contextvars
import json
from typing import Any

import faust

from echoarb.scan.state import PairState
from echoarb.settings import Settings
from streams.faust_compat import in_stream_iteration

_event_time: contextvars.ContextVar[float] = contextvars.ContextVar("echoarb_event_time", default=0.0)


def _current_event_time(event: Any = None) -> float:
    return _event_time.get()


def _json_schema() -> Any:
    return faust.Schema(key_serializer="json", value_serializer="json")


class WindowMirror:
    def __init__(self, app: faust.App, settings: Settings) -> None:
        s = settings
        self.tumbling = (
            app.Table("spread-stats-tumbling", default=None, partitions=s.partitions, schema=_json_schema())
            .tumbling(s.window_tumbling_s, expires=s.window_tumbling_s * 10)
            .relative_to(_current_event_time)  # type: ignore[attr-defined]
        )
        self.hopping = (
            app.Table("spread-stats-hopping", default=None, partitions=s.partitions, schema=_json_schema())
            .hopping(s.window_hopping_s, s.window_hopping_step_s, expires=s.window_hopping_s * 4)
            .relative_to(_current_event_time)  # type: ignore[attr-defined]
        )
        self._mirrored: dict[str, tuple[str, str]] = {}

    def write(self, state: PairState, windows: list[dict[str, Any]]) -> None:
        """Mirror ``state``'s open windows (``windows``: their serialised form, already built)."""
        # Windowed keys are (pair, window) tuples: their changelog partition is the current
        # event's, so the mirror is only written inside stream iteration.
        event_ts = state.last_event_ts
        if not event_ts or not in_stream_iteration():
            return
        tumbling, hopping = windows
        snapshot = (json.dumps(tumbling["open"], sort_keys=True), json.dumps(hopping["open"], sort_keys=True))
        pair_id = state.pair_id
        if self._mirrored.get(pair_id) == snapshot:
            return  # unchanged: each write is a changelog record
        self._mirrored[pair_id] = snapshot
        token = _event_time.set(event_ts / 1000)
        try:
            self.tumbling[pair_id] = tumbling["open"]
            self.hopping[pair_id] = hopping["open"]
        finally:
            _event_time.reset(token)
