"""A backtest from frames to results: the ingest pipeline, the in-process scan, the trades.

``Backtest.feed`` takes recorded frames (whoever reads the file); ``finish`` ends the stream
and ``evaluate`` turns the scan into opportunities (episodes) and simulated trades, at the
configured latencies and at every delay of the decay curve. No I/O happens here.

An opportunity is an *episode* of one key (pair, kind, legs): from the spread event that
makes it executable to the one that makes it not (or the end of the recording). Its first
executable event is the signal a trader acts on; the later changes while it lasts are
counted, not traded again, because the recording's books do not show the liquidity an earlier
simulated order already took.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from echoarb.backtest.fills import Fees
from echoarb.backtest.latency import LatencyModel
from echoarb.backtest.scan import Emitted, InProcessScan
from echoarb.backtest.trade import Signal, Strategy, Trade, simulate
from echoarb.ingest.pipeline import FramePipeline, MemorySink, PipelineStats, frame_handler, tick_batcher
from echoarb.model import ZERO
from echoarb.pairs import PairsConfig
from echoarb.scan.scanner import scan_params
from echoarb.settings import Settings
from echoarb.venues.recording import RecordedFrame

DEFAULT_DECAY_MS: tuple[int, ...] = (0, 100, 250, 500, 750, 1000, 1500, 2000, 3000, 4000, 5000)


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """How opportunities are taken: strategy, latencies, the decay delays, a profit floor.

    ``resolutions`` maps a pair id to its resolution time (epoch ms) when known: capital is
    then locked until that time and the report shows an annualised return.
    """

    strategy: Strategy = field(default_factory=Strategy)
    latency: LatencyModel = field(default_factory=LatencyModel)
    decay_delays_ms: tuple[int, ...] = DEFAULT_DECAY_MS
    min_profit: Decimal = ZERO
    resolutions: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Episode:
    """One opportunity's life on the merge clock (module docstring); ``open_at_end``: still
    executable when the recording ends."""

    key: str
    pair_id: str
    signal: Signal
    updates: int
    start_ts: int
    end_ts: int
    open_at_end: bool

    @property
    def lifetime_ms(self) -> int:
        return max(0, self.end_ts - self.start_ts)


@dataclass(frozen=True, slots=True)
class Taken:
    """An episode and what happened when it was taken (``trade`` None: skipped, see ``skipped``)."""

    episode: Episode
    trade: Trade | None
    skipped: str = ""


@dataclass
class BacktestResult:
    frames: int
    ticks: int
    parse_errors: int
    spreads: int
    signals: int
    end_ts: int
    episodes: list[Episode]
    taken: list[Taken]
    decay: dict[int, list[Trade]]
    config: BacktestConfig


def episodes_of(emitted: list[Emitted], end_ts: int) -> list[Episode]:
    """Episodes in the order they started (emission order is each pair's merge order)."""
    open_: dict[str, tuple[Signal, int, int]] = {}  # key -> (signal, updates, start index)
    done: list[tuple[int, Episode]] = []
    for item in emitted:
        opp = item.event.opportunity
        key = opp.key
        current = open_.get(key)
        if item.signal is not None:
            if current is None:
                open_[key] = (item.signal, 0, item.index)
            else:
                open_[key] = (current[0], current[1] + 1, current[2])
        elif current is not None:
            del open_[key]
            signal, updates, index = current
            done.append((index, Episode(key, opp.pair_id, signal, updates, signal.ts, item.ts, False)))
    for key, (signal, updates, index) in open_.items():
        pair_id = signal.opportunity.pair_id
        done.append((index, Episode(key, pair_id, signal, updates, signal.ts, end_ts, True)))
    done.sort(key=lambda item: item[0])
    return [episode for _, episode in done]


class Backtest:
    """Frames in, results out; the pipeline and scan are those of the Kafka path (``scan``)."""

    def __init__(self, settings: Settings, pairs: PairsConfig) -> None:
        self.stats = PipelineStats()
        self.sink = MemorySink(tick_batcher(settings, pairs), linger_ms=settings.batch_linger_ms)
        self.pipeline = FramePipeline(frame_handler(settings, pairs), self.sink, stats=self.stats)
        params = scan_params(settings)
        self.scan = InProcessScan(pairs, params, settings.partitions)
        self.fees = Fees(pairs.by_id(), params.fees)

    def _drain(self) -> None:
        batches = self.sink.batches
        push = self.scan.push
        for batch in batches:
            push(batch)
        batches.clear()

    async def feed(self, frame: RecordedFrame) -> None:
        await self.pipeline.feed(frame)
        if self.sink.batches:
            self._drain()

    async def finish(self) -> None:
        """End of stream: the last batches and every stream's final watermark."""
        await self.sink.flush(end_of_stream=True)
        self._drain()

    def evaluate(
        self, config: BacktestConfig, on_progress: Callable[[int, int], None] | None = None
    ) -> BacktestResult:
        """Episodes, one trade per episode at the configured latency, and the decay sweeps.

        ``on_progress(done, total)`` is called as the simulations go (one unit per episode and
        delay).
        """
        scan = self.scan
        timeline = scan.timeline
        end_ts = timeline.newest_ts
        episodes = episodes_of(scan.emitted, end_ts)
        strategy = config.strategy
        total = len(episodes) * (1 + len(config.decay_delays_ms))
        done = 0
        taken: list[Taken] = []
        for episode in episodes:
            opp = episode.signal.opportunity
            if opp.net_profit < config.min_profit:
                taken.append(Taken(episode, None, f"net profit {opp.net_profit} < {config.min_profit}"))
            else:
                trade = simulate(episode.signal, timeline, config.latency.draw, strategy, end_ts, self.fees)
                taken.append(Taken(episode, trade))
            done += 1
            if on_progress is not None:
                on_progress(done, total)
        decay: dict[int, list[Trade]] = {}
        for delay in config.decay_delays_ms:
            constant = LatencyModel.constant(delay).draw
            trades = []
            for item in taken:
                if item.trade is not None:
                    trades.append(
                        simulate(item.episode.signal, timeline, constant, strategy, end_ts, self.fees)
                    )
                done += 1
            decay[delay] = trades
            if on_progress is not None:
                on_progress(done, total)
        counts = scan.counts
        return BacktestResult(
            frames=self.stats.frames,
            ticks=counts.ticks,
            parse_errors=self.stats.parse_errors,
            spreads=counts.spreads,
            signals=counts.signals,
            end_ts=end_ts,
            episodes=episodes,
            taken=taken,
            decay=decay,
            config=config,
        )
