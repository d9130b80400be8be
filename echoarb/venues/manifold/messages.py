"""Manifold API bodies and WebSocket messages as the venue writes them: one builder per type.

The simulator and the sample generator both build their frames here. Probabilities are
integer basis points rendered as JSON numbers with at most four decimals (``bps / 10000``
is exactly rounded), so no float noise reaches a frame. Pure: values in, dicts or JSON out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

MALFORMED = "<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>"
"""What a proxy in front of the API answers in an outage (not JSON); parsers must reject it."""

Body = dict[str, Any]


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def prob(bps: int) -> float:
    """A probability in basis points as the API's JSON number: 4700 -> 0.47."""
    return bps / 10000


def market(
    contract_id: str,
    slug: str,
    question: str,
    bps: int,
    *,
    pool: Mapping[str, float | int],
    close_time: int,
    last_updated: int,
    total_liquidity: int = 1000,
    creator: tuple[str, str] | None = None,
    created_time: int | None = None,
    url: str | None = None,
    volume: int | None = None,
) -> Body:
    """``GET /v0/slug/{slug}``: a binary cpmm-1 market (``creator`` = (id, username))."""
    body: Body = {"id": contract_id}
    if creator is not None:
        body.update(creatorId=creator[0], creatorUsername=creator[1])
    if created_time is not None:
        body["createdTime"] = created_time
    body.update(closeTime=close_time, question=question, slug=slug)
    if url is not None:
        body["url"] = url
    body.update(outcomeType="BINARY", mechanism="cpmm-1", pool=dict(pool), p=0.5, probability=prob(bps))
    body["totalLiquidity"] = total_liquidity
    if volume is not None:
        body["volume"] = volume
    body.update(isResolved=False, token="MANA", lastUpdatedTime=last_updated)
    return body


def ack(txid: int | None, success: bool = True) -> str:
    """The answer to a subscribe or ping command."""
    return dumps({"type": "ack", "txid": txid, "success": success})


def bet(
    bet_id: str,
    user_id: str,
    contract_id: str,
    created_time: int,
    amount: int,
    outcome: str,
    prob_before: int,
    prob_after: int | None,
    *,
    shares: float | None = None,
) -> Body:
    """One bet of a ``new-bet`` broadcast; ``prob_after=None`` builds the mangled bet without it."""
    body: Body = {
        "id": bet_id,
        "userId": user_id,
        "contractId": contract_id,
        "createdTime": created_time,
        "amount": amount,
    }
    if shares is not None:
        body["shares"] = shares
    body.update(outcome=outcome, probBefore=prob(prob_before))
    if prob_after is not None:
        body["probAfter"] = prob(prob_after)
    return body


def new_bets(contract_id: str, bets: Sequence[Body]) -> str:
    return dumps(
        {"type": "broadcast", "topic": f"contract/{contract_id}/new-bet", "data": {"bets": list(bets)}}
    )


def contract_update(
    contract_id: str, bps: int | None, last_updated: int, *, last_bet_time: int | None = None
) -> str:
    """A ``contract/{id}`` broadcast; ``bps=None`` is the partial update without a probability."""
    contract: Body = {"id": contract_id}
    if bps is not None:
        contract["probability"] = prob(bps)
    if last_bet_time is not None:
        contract["lastBetTime"] = last_bet_time
    contract["lastUpdatedTime"] = last_updated
    return dumps({"type": "broadcast", "topic": f"contract/{contract_id}", "data": {"contract": contract}})
