"""The paper trader on the streams a pipeline publishes: the backtest's trades, exactly.

The ticks and spread events of the bundled sample go through their Avro records (as read
from the tick and spreads topics) into a ``PaperTrader``; its trade must be the backtest's,
whichever arrives first, the spread event or its trigger tick.
"""

from __future__ import annotations

import asyncio

from echoarb.backtest.latency import LatencyModel
from echoarb.backtest.paper import ORDER_COLUMNS, TRADE_COLUMNS, PaperTrader, order_rows, trade_rows
from echoarb.backtest.run import Backtest, BacktestConfig
from echoarb.model import SpreadEvent, Tick
from echoarb.pairs import load_pairs
from echoarb.settings import Settings
from echoarb.venues.recording import read_recording
from echoarb.wire.records import spread_from_record, spread_to_record, tick_from_record, tick_to_record
from tests.paths import PAIRS, SAMPLE

CONFIG = BacktestConfig(latency=LatencyModel.parse("kalshi=150ms,polymarket=300ms"))


def _sample() -> tuple[Backtest, list[Tick], list[SpreadEvent]]:
    """The backtest of the sample, with its ticks and spread events as their records decode."""
    backtest = Backtest(Settings(), load_pairs(PAIRS))
    ticks: list[Tick] = []

    async def feed() -> None:
        for frame in read_recording(SAMPLE):
            await backtest.pipeline.feed(frame)
            drain()
        await backtest.sink.flush(end_of_stream=True)
        drain()

    def drain() -> None:
        for batch in backtest.sink.batches:
            ticks.extend(tick_from_record(tick_to_record(t)) for t in batch.ticks)
            backtest.scan.push(batch)
        backtest.sink.batches.clear()

    asyncio.run(feed())
    events = [spread_from_record(spread_to_record(e.event)) for e in backtest.scan.emitted]
    return backtest, ticks, events


def test_paper_trade_equals_the_backtest_trade() -> None:
    backtest, ticks, events = _sample()
    [expected] = [t.trade for t in backtest.evaluate(CONFIG).taken]
    assert expected is not None
    trader = PaperTrader(CONFIG, backtest.fees)
    end = ticks[-1].recv_ts
    # Spread events first: their trigger ticks are not read yet, so nothing can be traded.
    for event in events:
        trader.on_spread(event, clock=ticks[0].recv_ts)
    assert trader.due(ticks[0].recv_ts) == [] and trader.pending == 1
    for tick in ticks:
        trader.on_tick(tick)
    [trade] = trader.due(end)
    assert trade.signal.ts == expected.signal.ts and trade.signal.limits == expected.signal.limits
    assert [(o.order, o.filled, o.notional, o.fees) for o in trade.orders] == [
        (o.order, o.filled, o.notional, o.fees) for o in expected.orders
    ]
    assert trade.pnl == expected.pnl
    counts = trader.counts
    assert (counts.spreads, counts.signals, counts.opportunities, counts.trades, counts.dropped) == (
        4,
        1,
        1,
        1,
        0,
    )
    assert trader.pending == 0


def test_a_trade_waits_until_the_clock_passes_its_orders() -> None:
    backtest, ticks, events = _sample()
    trader = PaperTrader(CONFIG, backtest.fees)
    [signal_event] = [e for e in events if e.opportunity.executable]
    for tick in ticks:
        trader.on_tick(tick)
    trader.on_spread(signal_event, clock=ticks[-1].recv_ts)
    signal_ts = 1767225755307  # the trigger's recv_ts (docs: the sample's known opportunity)
    assert trader.due(signal_ts + 299) == []  # the Polymarket leg meets its book at +300
    [trade] = trader.due(signal_ts + 300)
    assert trade.signal.ts == signal_ts and trade.fully_filled


def test_rows_match_the_declared_columns() -> None:
    backtest, ticks, events = _sample()
    trader = PaperTrader(CONFIG, backtest.fees)
    for tick in ticks:
        trader.on_tick(tick)
    for event in events:
        trader.on_spread(event, clock=ticks[-1].recv_ts)
    trades = trader.due(ticks[-1].recv_ts, final=True)
    [row] = trade_rows("run-1", trades, CONFIG)
    assert len(row) == len(TRADE_COLUMNS)
    values = dict(zip([c for c, _ in TRADE_COLUMNS], row, strict=True))
    assert (str(values["pnl"]), str(values["reported_profit"]), values["fully_filled"]) == (
        "1.904300",
        "1.904300",
        True,
    )
    orders = order_rows("run-1", trades)
    assert [len(r) for r in orders] == [len(ORDER_COLUMNS)] * 2
