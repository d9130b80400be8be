"""The macros of Grafana's official ClickHouse plugin (grafana-clickhouse-datasource v4), expanded
as its documentation specifies, so a test can run dashboard SQL against the real engine.

Only what the plugin documents is implemented; any other ``$__`` macro is an error, so a
dashboard cannot use a macro the test does not understand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

_CALL = re.compile(r"\$__(timeFilter_ms|timeFilter|dateFilter|timeInterval_ms|timeInterval)\(([^()]*)\)")
_PLAIN = re.compile(r"\$__(fromTime_ms|toTime_ms|fromTime|toTime|interval_s)\b")


class MacroError(ValueError):
    pass


@dataclass(frozen=True)
class TimeRange:
    start: datetime  # timezone-aware
    end: datetime
    interval_s: int

    @property
    def from_s(self) -> int:
        return int(self.start.timestamp())

    @property
    def to_s(self) -> int:
        return int(self.end.timestamp())

    @property
    def from_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def to_ms(self) -> int:
        return int(self.end.timestamp() * 1000)


def expand(sql: str, r: TimeRange) -> str:
    def call(match: re.Match[str]) -> str:
        name, column = match[1], match[2].strip()
        if name == "timeFilter":
            return f"{column} >= toDateTime({r.from_s}) AND {column} <= toDateTime({r.to_s})"
        if name == "timeFilter_ms":
            return (
                f"{column} >= fromUnixTimestamp64Milli({r.from_ms}) "
                f"AND {column} <= fromUnixTimestamp64Milli({r.to_ms})"
            )
        if name == "dateFilter":
            start, end = r.start.date().isoformat(), r.end.date().isoformat()
            return f"{column} >= '{start}' AND {column} <= '{end}'"
        if name == "timeInterval":
            return f"toStartOfInterval(toDateTime({column}), INTERVAL {r.interval_s} second)"
        return f"toStartOfInterval(toDateTime64({column}, 3), INTERVAL {r.interval_s * 1000} millisecond)"

    def plain(match: re.Match[str]) -> str:
        return {
            "fromTime": f"toDateTime({r.from_s})",
            "toTime": f"toDateTime({r.to_s})",
            "fromTime_ms": f"fromUnixTimestamp64Milli({r.from_ms})",
            "toTime_ms": f"fromUnixTimestamp64Milli({r.to_ms})",
            "interval_s": str(r.interval_s),
        }[match[1]]

    out = _PLAIN.sub(plain, _CALL.sub(call, sql))
    if "$__" in out or "${" in out:
        raise MacroError(f"unsupported macro or variable left in: {out}")
    return out
