"""``echoarb top``: the best recent opportunities stored in ClickHouse, as a text table.

"Recent" is measured back from the newest stored event, not from the wall clock, so a replay of
an old recording shows its opportunities too.

The spread rows carry no resolution times (nothing on the tick path knows them), so, as the
serve view does, they come from the discovery listing cache (``echoarb.discover.resolution``,
passed in as pair id -> epoch ms): each row then shows the days from its best event to the
pair's expected resolution and that event's simple annualised return, and ``sort="annualised"``
ranks by it (rows without a resolution time last), so a 1% edge locked for eight months no
longer tops a 0.5% edge settling tomorrow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from echoarb.discover.resolution import annualised_return, days_until
from echoarb.sink.client import check_identifier

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


@dataclass(frozen=True)
class Opportunity:
    pair_id: str
    legs: str
    size: Decimal
    net_profit: Decimal
    net_edge: Decimal
    events: int
    last_seen: datetime
    cost: Decimal = Decimal(0)  # of the best event
    fees: Decimal = Decimal(0)
    best_ts: datetime | None = None  # when the best event happened
    days_to_resolution: float | None = None  # from the best event; None: the listing does not know
    annualised_return: Decimal | None = None


Sort = Literal["profit", "annualised"]
SORTS: tuple[Sort, ...] = ("profit", "annualised")


def best_opportunities(
    client: Client,
    database: str,
    minutes: int = 60,
    limit: int = 20,
    executable_only: bool = True,
    *,
    resolutions: Mapping[str, int] | None = None,
    sort: Sort = "profit",
) -> list[Opportunity]:
    """Per pair and direction (legs' venues and sides), the event with the highest net profit.

    ``resolutions`` (pair id -> expected resolution, epoch ms) fills the capital columns;
    ``sort="annualised"`` ranks by annualised return (in Python: every group is read, there is
    one per pair and direction), rows without one last, best net profit first among those.
    """
    db = check_identifier(database)
    result = client.query(
        f"""
        WITH (SELECT max(event_ts) FROM `{db}`.spreads) AS newest
        SELECT
            pair_id,
            arrayStringConcat(arrayMap((v, s) -> concat(v, ' ', s), leg_venue, leg_side), ' + ') AS legs,
            argMax(size, net_profit) AS best_size,
            max(net_profit) AS best_profit,
            argMax(net_edge, net_profit) AS best_edge,
            count() AS events,
            max(event_ts) AS last_seen,
            argMax(cost, net_profit) AS best_cost,
            argMax(fees, net_profit) AS best_fees,
            argMax(event_ts, net_profit) AS best_ts
        FROM `{db}`.spreads
        WHERE event_ts >= newest - toIntervalMinute({{minutes:UInt32}})
          AND (executable OR NOT {{executable_only:Bool}})
        GROUP BY pair_id, legs
        ORDER BY best_profit DESC, pair_id, legs
        LIMIT {{limit:UInt32}}
        """,
        parameters={
            "minutes": minutes,
            "limit": limit if sort == "profit" else 2**32 - 1,
            "executable_only": executable_only,
        },
    )
    rows = [_with_capital(Opportunity(*row), resolutions or {}) for row in result.result_rows]
    if sort == "annualised":
        rows.sort(key=lambda o: (o.annualised_return is None, -(o.annualised_return or 0), -o.net_profit))
    return rows[:limit]


def _with_capital(o: Opportunity, resolutions: Mapping[str, int]) -> Opportunity:
    resolves = resolutions.get(o.pair_id)
    if resolves is None or o.best_ts is None:
        return o
    best = o.best_ts if o.best_ts.tzinfo is not None else o.best_ts.replace(tzinfo=UTC)  # stored in UTC
    days = days_until(int(best.timestamp() * 1000), resolves)
    yearly = annualised_return(o.net_profit, o.cost + o.fees, days)
    return dataclasses.replace(o, days_to_resolution=days, annualised_return=yearly)


def render(rows: list[Opportunity]) -> str:
    """A fixed-width table (no colours: the output is often piped)."""
    header = (
        "pair",
        "legs",
        "size",
        "net profit",
        "net edge",
        "days",
        "annualised",
        "events",
        "last seen (UTC)",
    )
    body = [
        (
            o.pair_id,
            o.legs,
            f"{o.size.normalize():f}",
            f"{o.net_profit:.6f}",
            f"{o.net_edge:.6f}",
            "-" if o.days_to_resolution is None else f"{o.days_to_resolution:.1f}",
            "-" if o.annualised_return is None else f"{o.annualised_return * 100:.2f}%",
            str(o.events),
            o.last_seen.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        )
        for o in rows
    ]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    right = {2, 3, 4, 5, 6, 7}

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in body)])
