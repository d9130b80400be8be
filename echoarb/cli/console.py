"""A plain-text table of the spreads found so far, for terminals and logs."""

from __future__ import annotations

import sys
from typing import Any, TextIO

_HEADER = ("pair", "buy yes @", "buy no @", "size", "net profit", "net edge", "exec", "event time (UTC)")


def _fmt_ts(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class SpreadBoard:
    """Keeps the latest event per opportunity key and the best one ever seen per key."""

    def __init__(self) -> None:
        self.latest: dict[str, dict[str, Any]] = {}
        self.best: dict[str, dict[str, Any]] = {}
        self.events = 0

    def update(self, event: dict[str, Any]) -> None:
        """``event`` is the JSON form written by ``replay --out`` (decimals as strings)."""
        self.events += 1
        legs = ",".join(f"{leg['venue']}:{leg['side']}" for leg in event["legs"])
        key = f"{event['pair_id']}|{legs}"
        self.latest[key] = event
        best = self.best.get(key)
        if float(event["net_profit"]) > 0 and (
            best is None or float(event["net_profit"]) > float(best["net_profit"])
        ):
            self.best[key] = event

    def rows(self, *, best: bool) -> list[tuple[str, ...]]:
        source = self.best if best else self.latest
        rows: list[tuple[str, ...]] = []
        for event in sorted(source.values(), key=lambda e: -float(e["net_profit"])):
            yes, no = event["legs"][0], event["legs"][-1]
            rows.append(
                (
                    str(event["pair_id"]),
                    f"{yes['venue']} {yes['best_price'] or '-'}",
                    f"{no['venue']} {no['best_price'] or '-'}",
                    str(event["size"]),
                    str(event["net_profit"]),
                    str(event["net_edge"]),
                    "yes" if event["executable"] else "no",
                    _fmt_ts(event["event_ts"]),
                )
            )
        return rows

    def render(self, *, best: bool, out: TextIO = sys.stdout, title: str = "") -> None:
        rows = self.rows(best=best)
        if title:
            print(title, file=out)
        if not rows:
            print(
                "  (no opportunities with positive net profit)" if best else "  (no spread events yet)",
                file=out,
            )
            return
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(_HEADER)]
        line = "  ".join(h.ljust(w) for h, w in zip(_HEADER, widths, strict=True))
        print(line, file=out)
        print("-" * len(line), file=out)
        for row in rows:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)), file=out)
