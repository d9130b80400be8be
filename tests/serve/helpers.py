"""Spread event records for serve tests: Avro-ready records built from model values."""

from __future__ import annotations

import itertools
import time
from decimal import Decimal
from typing import Any

from echoarb.model import Leg, Opportunity, SpreadEvent
from echoarb.wire.records import spread_id, spread_to_record

_seq = itertools.count(1)


def spread_record(
    pair_id: str = "fed-rate-march",
    *,
    yes: str = "kalshi",
    no: str = "polymarket",
    yes_price: str = "0.40",
    no_price: str = "0.50",
    size: str = "100",
    fees: str = "1.5",
    executable: bool = True,
    event_ts: int | None = None,
) -> dict[str, Any]:
    """A binary opportunity (buy YES on ``yes``, NO on ``no``) with consistent money fields."""
    ts = event_ts if event_ts is not None else int(time.time() * 1000) - 50
    size_d = Decimal(size)
    cost = (Decimal(yes_price) + Decimal(no_price)) * size_d
    fees_d = Decimal(fees)
    profit = size_d - cost - fees_d
    opp = Opportunity(
        pair_id=pair_id,
        kind="binary",
        legs=(
            Leg(yes, "yes", Decimal(yes_price), Decimal(yes_price), size_d),  # type: ignore[arg-type]
            Leg(no, "no", Decimal(no_price), Decimal(no_price), size_d),  # type: ignore[arg-type]
        ),
        gross_edge=1 - Decimal(yes_price) - Decimal(no_price),
        size=size_d,
        cost=cost,
        fees=fees_d,
        net_profit=profit,
        net_edge=(profit / cost).quantize(Decimal("0.000001")),
        executable=executable,
        quote_age_ms=120,
        event_ts=ts,
    )
    event = SpreadEvent(spread_id(opp, (ts, 0, next(_seq))), opp, ts + 5)
    return spread_to_record(event)
