"""``echoarb top``: the best recent opportunities stored in ClickHouse, as a text table.

"Recent" is measured back from the newest stored event, not from the wall clock, so a replay of
an old recording shows its opportunities too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

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


def best_opportunities(
    client: Client, database: str, minutes: int = 60, limit: int = 20, executable_only: bool = True
) -> list[Opportunity]:
    """Per pair and direction (legs' venues and sides), the event with the highest net profit."""
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
            max(event_ts) AS last_seen
        FROM `{db}`.spreads
        WHERE event_ts >= newest - toIntervalMinute({{minutes:UInt32}})
          AND (executable OR NOT {{executable_only:Bool}})
        GROUP BY pair_id, legs
        ORDER BY best_profit DESC, pair_id, legs
        LIMIT {{limit:UInt32}}
        """,
        parameters={"minutes": minutes, "limit": limit, "executable_only": executable_only},
    )
    return [Opportunity(*row) for row in result.result_rows]


def render(rows: list[Opportunity]) -> str:
    """A fixed-width table (no colours: the output is often piped)."""
    header = ("pair", "legs", "size", "net profit", "net edge", "events", "last seen (UTC)")
    body = [
        (
            o.pair_id,
            o.legs,
            f"{o.size.normalize():f}",
            f"{o.net_profit:.6f}",
            f"{o.net_edge:.6f}",
            str(o.events),
            o.last_seen.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        )
        for o in rows
    ]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    right = {2, 3, 4, 5}

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in body)])
