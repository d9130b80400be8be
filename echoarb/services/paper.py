"""``echoarb backtest --paper``: the paper trader on a running pipeline's topics, into ClickHouse.

Reads the tick topics and the spreads topic like ``echoarb serve`` does (every partition, no
consumer group, nothing committed: a paper session is a view), hands them to
``echoarb.backtest.paper.PaperTrader`` and inserts each finished trade and its orders into
``paper_trades`` and ``paper_orders`` (migration 0007; ``paper_positions`` sums them). No
order is ever sent to a venue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from echoarb.backtest.fills import Fees
from echoarb.backtest.paper import ORDER_COLUMNS, TRADE_COLUMNS, PaperTrader, order_rows, trade_rows
from echoarb.backtest.run import BacktestConfig
from echoarb.backtest.trade import Trade
from echoarb.kafka import aiokafka_compat
from echoarb.model import VENUES
from echoarb.pairs import PairsConfig
from echoarb.scan.scanner import scan_params
from echoarb.settings import Settings
from echoarb.sink.writer import insert_columns
from echoarb.wire.codec import Codecs
from echoarb.wire.records import spread_from_record, tick_from_record
from echoarb.wire.undecodable import Undecodable

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

log = logging.getLogger("echoarb.paper")


@dataclass
class PaperReport:
    records: int = 0
    decode_errors: int = 0
    trades: int = 0


class PaperSession:
    """One paper-trading session: consume, simulate, store. ``run`` until cancelled or ``stop``."""

    def __init__(
        self,
        settings: Settings,
        pairs: PairsConfig,
        config: BacktestConfig,
        client: Client,
        *,
        bootstrap: str,
        codecs: Codecs,
        consumer_kwargs: dict[str, Any],
        run_id: str,
        from_beginning: bool,
        on_trade: Callable[[Trade], None] | None = None,
        max_trades: int = 0,
    ) -> None:
        self.settings = settings
        self.config = config
        self.client = client
        self.bootstrap = bootstrap
        self.codecs = codecs
        self.consumer_kwargs = consumer_kwargs
        self.run_id = run_id
        self.from_beginning = from_beginning
        self.on_trade = on_trade
        self.max_trades = max_trades  # stop after this many trades (0: never)
        params = scan_params(settings)
        self.trader = PaperTrader(config, Fees(pairs.by_id(), params.fees))
        self.report = PaperReport()
        self.undecodable = Undecodable(log)
        self.stop = asyncio.Event()
        self._newest = 0  # newest tick recv_ts
        self._newest_wall = 0.0  # monotonic time it arrived

    def clock(self) -> int:
        """The merge clock: the newest tick's ``recv_ts`` plus the wall time since it arrived."""
        if not self._newest:
            return 0
        return self._newest + int((time.monotonic() - self._newest_wall) * 1000)

    def partitions(self) -> list[TopicPartition]:
        s = self.settings
        tps = [TopicPartition(s.topic_spreads, p) for p in range(s.partitions)]
        for venue in VENUES:
            tps += [TopicPartition(s.tick_topic(venue), p) for p in range(s.partitions)]
        return tps

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, **self.consumer_kwargs
        )
        await consumer.start()
        try:
            tps = self.partitions()
            consumer.assign(tps)
            if self.from_beginning:
                await consumer.seek_to_beginning(*tps)
            else:
                await consumer.seek_to_end(*tps)
            spreads = self.settings.topic_spreads
            while not self.stop.is_set():
                batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                # Ticks before spreads: a spread event's trigger is usually in the same fetch.
                for tp, records in sorted(batches.items(), key=lambda item: item[0].topic == spreads):
                    for record in records:
                        if tp.topic == spreads:
                            self._on_spread(record.value)
                        else:
                            self._on_ticks(record.value)
                    self.report.records += len(records)
                self._store(self.trader.due(self.clock()))
        finally:
            await aiokafka_compat.stop_consumer(consumer)  # bounded, with the brokers gone too
            self._store(self.trader.due(self.clock(), final=True))

    def _on_ticks(self, value: bytes | None) -> None:
        batch = self.undecodable.decode(self.codecs.tick_batch, value)
        if batch is None:
            self.report.decode_errors = self.undecodable.count
            return
        for raw in batch["ticks"]:
            tick = tick_from_record(raw)
            self.trader.on_tick(tick)
            if tick.recv_ts > self._newest:
                self._newest = tick.recv_ts
                self._newest_wall = time.monotonic()

    def _on_spread(self, value: bytes | None) -> None:
        raw = self.undecodable.decode(self.codecs.spread_event, value)
        if raw is None:
            self.report.decode_errors = self.undecodable.count
            return
        self.trader.on_spread(spread_from_record(raw), self.clock())

    def _store(self, trades: list[Trade]) -> None:
        if not trades:
            return
        db = self.settings.clickhouse_database
        insert_columns(
            self.client, db, "paper_trades", trade_rows(self.run_id, trades, self.config), TRADE_COLUMNS
        )
        orders = order_rows(self.run_id, trades)
        if orders:
            insert_columns(self.client, db, "paper_orders", orders, ORDER_COLUMNS)
        self.report.trades += len(trades)
        if self.on_trade is not None:
            for trade in trades:
                self.on_trade(trade)
        if self.max_trades and self.report.trades >= self.max_trades:
            self.stop.set()
