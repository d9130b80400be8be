"""Sans-I/O parser for Manifold REST market bodies and WebSocket broadcasts.

Manifold is a CPMM with play money: the displayed probability is a signal, not a book, so
a quote is one synthetic level of ``signal_size`` at the probability (and 1 - p for NO).
Pairs are configured by slug, but WebSocket topics carry only the contract id, so the
parser remembers id -> slug from REST bodies and keys quotes by slug once it is known.

Event time is the contract's ``lastUpdatedTime`` (REST bodies, ``contract/<id>`` updates)
or the bet's ``createdTime`` (``new-bet``); without one, the receive time, counted in
``ParseResult.fallback_ts``. A body without a probability never re-emits the last one as
fresh: it only changes the status (resolution, close time), keeping the old event time.

MULTIPLE_CHOICE (and FREE_RESPONSE) markets become signal-only categorical legs: one quote
per answer, keyed ``<slug>#<answer id>`` (a pair names such a leg by that key), from the
REST ``answers``, ``/prob`` ``answerProbs`` and answer bets (``answerId``) on ``new-bet``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from echoarb.model import ONE, ZERO, InstrumentQuote, Ladder, Level, MarketStatus
from echoarb.venues.parsing import (
    MAX_AHEAD_MS,
    FrameError,
    ParseResult,
    loads,
    make_quote,
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
_MULTI = frozenset({"MULTIPLE_CHOICE", "FREE_RESPONSE"})
ANSWER_SEP = "#"


@dataclass(slots=True)
class _Contract:
    """What is known about one Manifold contract."""

    id: str | None = None
    slug: str | None = None
    probability: Decimal | None = None
    close_time: int | None = None
    resolved: bool = False
    last_ts: int = 0  # event time of the last probability seen
    answers: dict[str, Decimal] = field(default_factory=dict)  # answer id -> probability
    answers_ts: dict[str, int] = field(default_factory=dict)


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
            if source == "rest":
                self._rest(data, path, recv_ts, result)
            else:
                if not isinstance(data, dict):
                    raise FrameError("frame is not a JSON object")
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

    # -- REST ----------------------------------------------------------------------------------
    def _rest(self, data: Any, path: str | None, recv_ts: int, result: ParseResult) -> None:
        path_id, path_slug, endpoint = _ids_from_path(path)
        if endpoint == "market-probs":
            if not isinstance(data, dict):
                raise FrameError("frame is not a JSON object")
            for contract_id, probs in data.items():
                if not isinstance(probs, dict):
                    raise FrameError(f"probabilities of {contract_id!r} are not an object")
                self._probs(self._contract(contract_id, None), probs, recv_ts, result)
            return
        if endpoint == "bets":
            self._bets(optional_list({"bets": data}, "bets"), None, recv_ts, result)
            return
        if isinstance(data, list) and not (path_id or path_slug):  # /markets, /search-markets
            if not data:
                result.ignored.append("empty list")
            for entry in data:
                if not isinstance(entry, dict):
                    raise FrameError("market is not a JSON object")
                self._market(entry, None, None, recv_ts, result)
            return
        if not isinstance(data, dict):
            raise FrameError("frame is not a JSON object")
        if endpoint == "prob":
            if not path_id:
                raise FrameError("missing field 'id'")
            self._probs(self._contract(path_id, None), data, recv_ts, result)
            return
        self._market(data, path_id, path_slug, recv_ts, result)

    def _market(
        self,
        body: dict[str, Any],
        path_id: str | None,
        path_slug: str | None,
        recv_ts: int,
        result: ParseResult,
    ) -> None:
        contract_id = _opt_str(body, "id") or path_id
        slug = _opt_str(body, "slug") or path_slug
        if not contract_id and not slug:
            raise FrameError("missing field 'id'")
        contract = self._contract(contract_id, slug)
        event_ts = self._event_ts(body, recv_ts)
        if body.get("outcomeType") in _MULTI or isinstance(body.get("answers"), list):
            self._update(contract, body)
            answers = optional_list(body, "answers")
            fresh = self._answers(contract, answers, event_ts)
            if fresh:
                if event_ts == recv_ts and to_epoch_ms(body.get("lastUpdatedTime")) is None:
                    result.fallback_ts += 1
                result.quotes.extend(self._answer_quote(contract, a, recv_ts) for a in fresh)
            else:
                result.ignored.append("multiple_choice without answers")
            return
        self._state(contract, body, event_ts, recv_ts, result, what="rest without probability")

    def _state(
        self,
        contract: _Contract,
        fields: dict[str, Any],
        event_ts: int,
        recv_ts: int,
        result: ParseResult,
        *,
        what: str,
        required: bool = True,
    ) -> None:
        """Merge ``fields``; quote fresh only when they carry a probability.

        ``required``: a body that must carry a probability the first time (REST markets);
        WebSocket contract updates are partial and may name any subset of fields.
        """
        before = (contract.resolved, contract.close_time)
        has_prob = self._update(contract, fields)
        if has_prob:
            contract.last_ts = event_ts
            if event_ts == recv_ts:
                result.fallback_ts += 1
            result.quotes.append(self._quote(contract, event_ts, recv_ts))
        elif contract.probability is None:
            if required:
                raise FrameError("missing field 'probability'")
            result.ignored.append(what)
        elif (contract.resolved, contract.close_time) != before:
            # The status changed, the probability did not: the old one keeps its old time.
            result.quotes.append(self._quote(contract, contract.last_ts or recv_ts, recv_ts))
        else:
            result.ignored.append(what)

    def _probs(self, contract: _Contract, probs: dict[str, Any], recv_ts: int, result: ParseResult) -> None:
        """``/prob`` bodies: ``{"prob": p}`` or ``{"answerProbs": {answer id: p}}`` (no time)."""
        answer_probs = probs.get("answerProbs")
        if isinstance(answer_probs, dict):
            answers = [{"id": k, "probability": v} for k, v in answer_probs.items()]
            fresh = self._answers(contract, answers, recv_ts)
            result.fallback_ts += 1
            result.quotes.extend(self._answer_quote(contract, a, recv_ts) for a in fresh)
            if not fresh:
                result.ignored.append("multiple_choice without answers")
            return
        self._state(contract, probs, recv_ts, recv_ts, result, what="rest without probability")

    def _answers(self, contract: _Contract, answers: list[Any], event_ts: int) -> list[str]:
        fresh = []
        for answer in answers:
            if not isinstance(answer, dict):
                raise FrameError("answer is not a JSON object")
            answer_id = require_str(answer, "id")
            for name in ("probability", "prob"):
                if answer.get(name) is not None:
                    contract.answers[answer_id] = _probability(answer[name], name)
                    contract.answers_ts[answer_id] = event_ts
                    fresh.append(answer_id)
                    break
        return fresh

    def _event_ts(self, fields: dict[str, Any], recv_ts: int) -> int:
        ms = to_epoch_ms(fields.get("lastUpdatedTime"))
        if ms is None or ms > recv_ts + MAX_AHEAD_MS:
            return recv_ts
        return ms

    # -- WebSocket -----------------------------------------------------------------------------
    def _ws(self, data: dict[str, Any], recv_ts: int, result: ParseResult) -> None:
        kind = data.get("type")
        if kind != "broadcast":
            result.ignored.append("ack" if kind == "ack" else "unknown")  # ack, pong, errors
            return
        topic = require_str(data, "topic")
        parts = topic.split("/")
        if len(parts) < 2 or parts[0] != "contract" or not parts[1]:
            result.ignored.append(
                f"topic {parts[0] if parts[0] in ('global', 'user', 'answer') else 'other'}"
            )
            return
        sub = "/".join(parts[2:])
        if sub == "":
            fields = require_dict(require_dict(data, "data"), "contract")
            contract = self._contract(parts[1], _opt_str(fields, "slug"))
            event_ts = self._event_ts(fields, recv_ts)
            self._state(
                contract,
                fields,
                event_ts,
                recv_ts,
                result,
                what="contract update without probability",
                required=False,
            )
        elif sub == "new-bet":
            self._bets(optional_list(require_dict(data, "data"), "bets"), parts[1], recv_ts, result)
        else:
            result.ignored.append(f"topic {parts[2]}")  # orders, new-comment, user-metrics ...

    def _bets(self, bets: list[Any], contract_id: str | None, recv_ts: int, result: ParseResult) -> None:
        """The latest binary bet per contract and the latest bet per answer set the probabilities."""
        latest: dict[tuple[str, str | None], tuple[int, dict[str, Any]]] = {}
        for bet in bets:
            if not isinstance(bet, dict):
                raise FrameError("bet is not a JSON object")
            cid = bet.get("contractId") or contract_id
            if not isinstance(cid, str) or not cid or (contract_id and cid != contract_id):
                continue
            if bet.get("probAfter") is None:
                raise FrameError("missing field 'probAfter'")
            answer = bet.get("answerId")
            key = (cid, answer if isinstance(answer, str) and answer else None)
            ts = to_epoch_ms(bet.get("createdTime")) or 0
            if key not in latest or ts >= latest[key][0]:
                latest[key] = (ts, bet)
        if not latest:
            result.ignored.append("new-bet without bets")
            return
        for (cid, answer), (ts, bet) in latest.items():
            contract = self._contract(cid, None)
            prob = _probability(bet["probAfter"], "probAfter")
            event_ts = ts if 0 < ts <= recv_ts + MAX_AHEAD_MS else recv_ts
            if event_ts == recv_ts:
                result.fallback_ts += 1
            if answer is None:
                contract.probability = prob
                contract.last_ts = event_ts
                result.quotes.append(self._quote(contract, event_ts, recv_ts))
            else:
                contract.answers[answer] = prob
                contract.answers_ts[answer] = event_ts
                result.quotes.append(self._answer_quote(contract, answer, recv_ts))

    def _update(self, contract: _Contract, fields: dict[str, Any]) -> bool:
        """Merge the (possibly partial) contract fields we use; True if a probability came."""
        found = False
        for name in ("probability", "prob"):
            if fields.get(name) is not None:
                contract.probability = _probability(fields[name], name)
                found = True
                break
        if fields.get("isResolved") is not None:
            contract.resolved = fields["isResolved"] is True
        if fields.get("closeTime") is not None:
            contract.close_time = to_epoch_ms(fields["closeTime"])
        return found

    def _status(self, contract: _Contract, event_ts: int) -> MarketStatus:
        if contract.resolved:
            return "settled"
        if contract.close_time is not None and contract.close_time <= event_ts:
            return "closed"
        return "open"

    def _answer_quote(self, contract: _Contract, answer_id: str, recv_ts: int) -> InstrumentQuote:
        prob = contract.answers[answer_id]
        event_ts = contract.answers_ts.get(answer_id, recv_ts)
        ladders = self._ladders(prob)
        base = contract.slug or contract.id or ""
        return InstrumentQuote(
            venue="manifold",
            instrument=f"{base}{ANSWER_SEP}{answer_id}",
            buy_yes=ladders[0],
            buy_no=ladders[1],
            event_ts=event_ts,
            recv_ts=recv_ts,
            status=self._status(contract, event_ts),
            close_ts=contract.close_time or 0,
        )

    def _ladders(self, prob: Decimal) -> tuple[Ladder, Ladder]:
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
        return ladders

    def _quote(self, contract: _Contract, event_ts: int, recv_ts: int) -> InstrumentQuote:
        prob = contract.probability
        if prob is None:
            raise FrameError("missing field 'probability'")
        ladders = self._ladders(prob)
        return make_quote(
            "manifold",
            contract.slug or contract.id or "",
            ladders[0],
            ladders[1],
            event_ts,
            recv_ts,
            self._status(contract, event_ts),
            True,
            0,
        )


def _opt_str(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    return value if isinstance(value, str) and value else None


def _ids_from_path(path: str | None) -> tuple[str | None, str | None, str]:
    """(id, slug, endpoint) from a REST path like ``/v0/market/<id>[/prob]`` or ``/slug/<slug>``.

    ``endpoint`` is ``"prob"``, ``"market-probs"``, ``"bets"`` or ``""`` (a market body).
    """
    if not path:
        return None, None, ""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    last = parts[-1] if parts else ""
    if last in ("market-probs", "bets"):
        return None, None, last
    for i, part in enumerate(parts[:-1]):
        if part == "market":
            endpoint = "prob" if parts[i + 2 : i + 3] == ["prob"] else ""
            return parts[i + 1], None, endpoint
        if part == "slug":
            return None, parts[i + 1], ""
    return None, None, ""


def _probability(value: Any, name: str) -> Decimal:
    prob = to_decimal(value, name).quantize(_PROB_QUANTUM)
    if not ZERO <= prob <= ONE:
        raise FrameError(f"field '{name}' out of range [0, 1]: {prob}")
    return prob
