"""Sans-I/O parser for Manifold REST market bodies and WebSocket broadcasts.

Manifold is a CPMM with play money: the displayed probability is a signal, not a book, so
a quote is one synthetic level of ``signal_size`` at the probability (and 1 - p for NO).
Pairs are configured by slug, but WebSocket topics carry only the contract id, so the
parser remembers id -> slug from REST bodies and keys quotes by slug once it is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from echoarb.model import ONE, ZERO, InstrumentQuote, Ladder, Level, MarketStatus
from echoarb.venues.parsing import (
    FrameError,
    ParseResult,
    event_ms,
    loads,
    optional_list,
    require_dict,
    require_str,
    to_decimal,
    to_epoch_ms,
)

_PROB_QUANTUM = Decimal("0.000001")
# One-level (YES, NO) ladders by (probability in micros, signal size): probabilities repeat,
# and shared ladders let the Avro records downstream be reused too. Probabilities are
# quantized to 6 places, so equal values have the same representation (but for 0 and -0:
# not cached).
_LADDERS_MAX = 20_000
_LADDERS: dict[tuple[int, str], tuple[Ladder, Ladder]] = {}


@dataclass(slots=True)
class _Contract:
    """What is known about one Manifold contract."""

    id: str | None = None
    slug: str | None = None
    probability: Decimal | None = None
    close_time: int | None = None
    resolved: bool = False


class ManifoldProtocol:
    """Turns Manifold REST bodies and WS broadcasts into one-level signal quotes."""

    def __init__(self, depth: int = 10, signal_size: Decimal = Decimal("100")) -> None:
        if depth < 1:
            raise ValueError("depth must be >= 1")
        if signal_size <= ZERO:
            raise ValueError("signal_size must be > 0")
        self.depth = depth  # kept for signature parity: a Manifold quote has one level
        self.signal_size = signal_size
        self._size_repr = repr(signal_size)  # cache key part: 100 and 100.0 are equal but print apart
        self._by_id: dict[str, _Contract] = {}
        self._by_slug: dict[str, _Contract] = {}

    def receive(
        self, frame: str | bytes, recv_ts: int, *, source: str = "ws", path: str | None = None
    ) -> ParseResult:
        """Parse a WS frame (``source="ws"``) or a REST body (``source="rest"`` with its ``path``).

        Never raises: bad input becomes a reason in ``errors``.
        """
        result = ParseResult()
        label = "manifold"
        if source == "rest":
            label = f"manifold rest {path}" if path else "manifold rest"
        try:
            data = loads(frame)
            if not isinstance(data, dict):
                raise FrameError("frame is not a JSON object")
            if source == "rest":
                self._rest(data, path, recv_ts, result)
            else:
                topic = data.get("topic")
                label = f"manifold {topic}" if isinstance(topic, str) else label
                self._ws(data, recv_ts, result)
        except FrameError as exc:
            result.errors.append(f"{label}: {exc}")
        except Exception as exc:  # defensive: a parser bug must not kill the connector
            result.errors.append(f"{label}: internal error {type(exc).__name__}: {exc}")
        return result

    def slug_of(self, contract_id: str) -> str | None:
        """Slug learnt for ``contract_id`` (None until a REST body told us)."""
        contract = self._by_id.get(contract_id)
        return None if contract is None else contract.slug

    def _contract(self, contract_id: str | None, slug: str | None) -> _Contract:
        """Find or create the contract and link whichever of id/slug is new."""
        contract = (self._by_id.get(contract_id) if contract_id else None) or (
            self._by_slug.get(slug) if slug else None
        )
        if contract is None:
            contract = _Contract()
        if contract_id and contract.id is None:
            contract.id = contract_id
            self._by_id[contract_id] = contract
        if slug and contract.slug is None:
            contract.slug = slug
            self._by_slug[slug] = contract
        return contract

    def _rest(self, body: dict[str, Any], path: str | None, recv_ts: int, result: ParseResult) -> None:
        path_id, path_slug = _ids_from_path(path)
        contract_id = _opt_str(body, "id") or path_id
        slug = _opt_str(body, "slug") or path_slug
        if not contract_id and not slug:
            raise FrameError("missing field 'id'")
        contract = self._contract(contract_id, slug)
        # A REST body is the state as observed now, so its event time is the receive time.
        self._update(contract, body)
        result.quotes.append(self._quote(contract, recv_ts, recv_ts))

    def _ws(self, data: dict[str, Any], recv_ts: int, result: ParseResult) -> None:
        if data.get("type") != "broadcast":
            return  # ack, pong, subscribe errors: nothing to quote
        topic = require_str(data, "topic")
        parts = topic.split("/")
        if len(parts) < 2 or parts[0] != "contract" or not parts[1]:
            return
        sub = "/".join(parts[2:])
        if sub == "":
            fields = require_dict(require_dict(data, "data"), "contract")
            contract = self._contract(parts[1], _opt_str(fields, "slug"))
            self._update(contract, fields)
            event_ts = event_ms(fields.get("lastUpdatedTime"), recv_ts)
        elif sub == "new-bet":
            bet = _latest_bet(optional_list(require_dict(data, "data"), "bets"), parts[1])
            if bet is None:
                return
            contract = self._contract(parts[1], None)
            contract.probability = _probability(bet["probAfter"], "probAfter")
            event_ts = event_ms(bet.get("createdTime"), recv_ts)
        else:
            return  # orders, updated-metrics, ...: not a price
        result.quotes.append(self._quote(contract, event_ts, recv_ts))

    def _update(self, contract: _Contract, fields: dict[str, Any]) -> None:
        """Merge the (possibly partial) contract fields we use."""
        for name in ("probability", "prob"):
            if fields.get(name) is not None:
                contract.probability = _probability(fields[name], name)
                break
        if fields.get("isResolved") is not None:
            contract.resolved = fields["isResolved"] is True
        if fields.get("closeTime") is not None:
            contract.close_time = to_epoch_ms(fields["closeTime"])

    def _quote(self, contract: _Contract, event_ts: int, recv_ts: int) -> InstrumentQuote:
        prob = contract.probability
        if prob is None:
            raise FrameError("missing field 'probability'")
        status: MarketStatus = "open"
        if contract.resolved:
            status = "settled"
        elif contract.close_time is not None and contract.close_time <= event_ts:
            status = "closed"
        instrument = contract.slug or contract.id or ""
        # Keyed by the exact micros of the quantized probability: hashing the fresh Decimal
        # itself costs several times more.
        key = (int(prob.scaleb(6)), self._size_repr)
        ladders = _LADDERS.get(key) if prob else None  # not for 0: 0 and -0 differ in repr
        if ladders is None:
            ladders = (Level(prob, self.signal_size),), (Level(ONE - prob, self.signal_size),)
            if prob:
                if len(_LADDERS) >= _LADDERS_MAX:
                    _LADDERS.clear()
                _LADDERS[key] = ladders
        return InstrumentQuote(
            venue="manifold",
            instrument=instrument,
            buy_yes=ladders[0],
            buy_no=ladders[1],
            event_ts=event_ts,
            recv_ts=recv_ts,
            status=status,
        )


def _opt_str(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    return value if isinstance(value, str) and value else None


def _ids_from_path(path: str | None) -> tuple[str | None, str | None]:
    """(id, slug) from a REST path like ``/v0/market/<id>[/prob]`` or ``/slug/<slug>``."""
    if not path:
        return None, None
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part == "market":
            return parts[i + 1], None
        if part == "slug":
            return None, parts[i + 1]
    return None, None


def _probability(value: Any, name: str) -> Decimal:
    prob = to_decimal(value, name).quantize(_PROB_QUANTUM)
    if not ZERO <= prob <= ONE:
        raise FrameError(f"field '{name}' out of range [0, 1]: {prob}")
    return prob


def _latest_bet(bets: list[Any], contract_id: str) -> dict[str, Any] | None:
    """The most recent binary bet of this contract (ties: last in the list)."""
    latest: dict[str, Any] | None = None
    latest_ts = -1
    for bet in bets:
        if not isinstance(bet, dict):
            raise FrameError("bet is not a JSON object")
        if bet.get("answerId") is not None:
            continue  # multiple-choice answer bet: not the contract's probability
        if bet.get("contractId") not in (None, contract_id):
            continue
        if bet.get("probAfter") is None:
            raise FrameError("missing field 'probAfter'")
        ts = to_epoch_ms(bet.get("createdTime")) or 0
        if ts >= latest_ts:
            latest, latest_ts = bet, ts
    return latest
