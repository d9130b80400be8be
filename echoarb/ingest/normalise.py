"""Maps venue instrument quotes onto market pairs: the one tick shape.

A pair's YES/NO ask ladders on one venue may depend on two instruments (Polymarket's
YES and NO tokens), and a venue may word the market the other way round (``invert``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from echoarb.construct import positional
from echoarb.model import InstrumentQuote, Ladder, MarketStatus, Tick, Venue
from echoarb.pairs import PairsConfig, VenueRef

_STATUS_RANK: dict[MarketStatus, int] = {"open": 0, "halted": 1, "closed": 2, "settled": 3}

make_tick: Callable[
    [str, Venue, Ladder, Ladder, int, int, Decimal, str, MarketStatus, bool, bool, int], Tick
] = positional(Tick)
"""``Tick`` from every field in order (pair_id venue yes_asks no_asks event_ts recv_ts fee_rate
outcome status in_sync real_money seq), writing the slots directly: ~3x cheaper than the
frozen dataclass's ``__init__``, once per tick; the same object (see
``echoarb.scan.edge.values.positional``)."""


@dataclass(frozen=True, slots=True)
class _Binding:
    pair_id: str
    outcome: str
    ref: VenueRef
    fee_rate: Decimal
    single: bool = False  # the pair's ticks on this venue come from one quote (no NO token)
    invert: bool = False  # ref.invert, at hand for the hot path
    real_money: bool = True  # False on Manifold (play money)
    key: tuple[str, str] = ("", "")  # (venue, instrument): the _latest key of the main quote
    no_key: tuple[str, str] | None = None  # (venue, no_instrument) for a NO token


class Normaliser:
    """Stateful: remembers the latest quote per instrument to combine YES/NO tokens."""

    def __init__(self, pairs: PairsConfig, *, kalshi_fee_rate: Decimal = Decimal("0.07")) -> None:
        self._bindings: dict[tuple[str, str], list[_Binding]] = defaultdict(list)
        for pair in pairs.pairs:
            for outcome, ref in pair.refs():
                rate = ref.fee_rate
                if rate is None:
                    rate = kalshi_fee_rate if ref.venue == "kalshi" else Decimal(0)
                if ref.venue == "manifold":
                    rate = Decimal(0)
                binding = _Binding(
                    pair.id,
                    outcome,
                    ref,
                    rate,
                    not ref.no_instrument,
                    ref.invert,
                    ref.venue != "manifold",
                    (ref.venue, ref.instrument),
                    (ref.venue, ref.no_instrument) if ref.no_instrument else None,
                )
                self._bindings[(ref.venue, ref.instrument)].append(binding)
                if ref.no_instrument:
                    self._bindings[(ref.venue, ref.no_instrument)].append(binding)
        self._latest: dict[tuple[str, str], InstrumentQuote] = {}

    def instruments(self, venue: str) -> list[str]:
        """Instruments of ``venue`` that some pair uses (what a connector subscribes to)."""
        return sorted(instrument for v, instrument in self._bindings if v == venue)

    def update(self, quote: InstrumentQuote) -> list[Tick]:
        """Ticks for every pair (outcome) that ``quote`` changes; [] for unknown instruments."""
        key = (quote.venue, quote.instrument)
        bindings = self._bindings.get(key)
        if not bindings:
            return []
        self._latest[key] = quote
        ticks = []
        for binding in bindings:
            if binding.single:  # the common case, without the look-ups of _tick
                if binding.invert:
                    yes_asks, no_asks = quote.buy_no, quote.buy_yes
                else:
                    yes_asks, no_asks = quote.buy_yes, quote.buy_no
                ticks.append(
                    make_tick(
                        binding.pair_id,
                        quote.venue,
                        yes_asks,
                        no_asks,
                        quote.event_ts,
                        quote.recv_ts,
                        binding.fee_rate,
                        binding.outcome,
                        quote.status,
                        quote.in_sync,
                        binding.real_money,
                        0,
                    )
                )
                continue
            tick = self._tick(binding)
            if tick is not None:
                ticks.append(tick)
        return ticks

    def _tick(self, binding: _Binding) -> Tick | None:
        ref = binding.ref
        main = self._latest.get(binding.key)
        if main is None:
            return None
        yes_asks, no_asks = main.buy_yes, main.buy_no
        event_ts, recv_ts = main.event_ts, main.recv_ts
        status, in_sync = main.status, main.in_sync
        if binding.no_key is not None:
            # With a NO token, the pair's NO is bought on the NO token's own book.
            no_quote = self._latest.get(binding.no_key)
            if no_quote is None:
                no_asks = ()
            else:
                no_asks = no_quote.buy_yes
                event_ts = max(event_ts, no_quote.event_ts)
                recv_ts = max(recv_ts, no_quote.recv_ts)
                in_sync = in_sync and no_quote.in_sync
                if _STATUS_RANK[no_quote.status] > _STATUS_RANK[status]:
                    status = no_quote.status
        if binding.invert:
            yes_asks, no_asks = no_asks, yes_asks
        return make_tick(
            binding.pair_id,
            ref.venue,
            yes_asks,
            no_asks,
            event_ts,
            recv_ts,
            binding.fee_rate,
            binding.outcome,
            status,
            in_sync,
            binding.real_money,
            0,
        )
