"""Writing a backtest out: the terminal summary, ``summary.json``, ``trades.csv``, ``report.md``
and its PNG charts (matplotlib, the ``report`` extra).

This is the only module of the backtest that touches files. Charts are drawn on
``matplotlib.figure.Figure`` objects directly (no pyplot, no global state, no display).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from echoarb.backtest.run import BacktestResult
from echoarb.backtest.stats import DecayPoint, PairFigures, Summary

CHARTS = ("funnel.png", "pnl_by_pair.png", "decay.png", "lifetimes.png")


def _money(value: Decimal) -> str:
    return f"{value:,.4f}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _date(ts: int | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts / 1000, tz=UTC).strftime("%Y-%m-%d")


def describe_config(result: BacktestResult) -> str:
    c = result.config
    return (
        f"latency {c.latency.describe()} (seed {c.latency.seed}), legs {c.strategy.leg_order}, "
        f"one-legged fills: {c.strategy.policy}" + (f", min profit {c.min_profit}" if c.min_profit else "")
    )


def render_text(summary: Summary, result: BacktestResult, seconds: float | None = None) -> str:
    """The terminal summary: headline numbers, per pair, the decay curve."""
    t = summary.total
    lines = [
        f"backtest: {summary.frames} frames ({summary.parse_errors} rejected) -> {summary.ticks} ticks -> "
        f"{summary.spreads} spread events, {t.signals} executable"
        + (f"; {seconds:.2f}s, {summary.frames / seconds:,.0f} frames/s" if seconds else ""),
        f"  {describe_config(result)}",
        f"  opportunities seen {t.seen}, taken {t.taken}, filled {t.filled_any}, fully filled "
        f"{t.fully_filled} ({_pct(t.fully_filled, t.taken)}), one-legged {t.one_legged} "
        f"({_pct(t.one_legged, t.taken)}, cost {_money(t.one_legged_cost)})",
        f"  profit reported {_money(t.reported)}, realised {_money(t.realised)} after fees "
        f"{_money(t.fees)}; capital {_money(t.capital)}",
    ]
    if summary.pairs:
        lines.append("")
        lines.append(
            f"  {'pair':<28} {'seen':>5} {'taken':>5} {'full':>5} {'1-leg':>5} "
            f"{'reported':>12} {'realised':>12}"
        )
        for pair_id in sorted(summary.pairs):
            p = summary.pairs[pair_id]
            lines.append(
                f"  {pair_id:<28} {p.seen:>5} {p.taken:>5} {p.fully_filled:>5} {p.one_legged:>5} "
                f"{_money(p.reported):>12} {_money(p.realised):>12}"
            )
    if summary.decay and t.taken:
        lines.append("")
        lines.append("  edge decay (every venue at the same delay):")
        lines.append(f"  {'delay':>8} {'takeable':>9} {'realised':>12} {'edge/contract':>14}")
        for point in summary.decay:
            lines.append(
                f"  {point.delay_ms:>6}ms {float(point.share):>9.1%} {_money(point.realised):>12} "
                f"{point.edge:>14}"
            )
    return "\n".join(lines)


def _bar_labels(pairs: Sequence[PairFigures]) -> list[str]:
    return [p.pair_id for p in pairs]


def write_charts(summary: Summary, out_dir: Path) -> list[Path]:
    """The four PNG charts (raises ImportError without matplotlib)."""
    from matplotlib.figure import Figure

    written: list[Path] = []
    pairs = [summary.pairs[p] for p in sorted(summary.pairs)]
    t = summary.total

    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.subplots()
    names = ["seen", "taken", "filled", "fully filled", "one-legged"]
    values = [t.seen, t.taken, t.filled_any, t.fully_filled, t.one_legged]
    ax.bar(names, values, color=["#888", "#4a7", "#49c", "#27a", "#c54"])
    ax.set_ylabel("opportunities")
    ax.set_title("Opportunities seen, taken and filled")
    for x, v in enumerate(values):
        ax.annotate(str(v), (x, v), ha="center", va="bottom")
    written.append(_save(fig, out_dir / "funnel.png"))

    fig = Figure(figsize=(max(6, 1.2 * len(pairs) + 2), 3.8), layout="constrained")
    ax = fig.subplots()
    xs = range(len(pairs))
    ax.bar([x - 0.2 for x in xs], [float(p.reported) for p in pairs], 0.4, label="reported", color="#999")
    ax.bar([x + 0.2 for x in xs], [float(p.realised) for p in pairs], 0.4, label="realised", color="#27a")
    ax.set_xticks(list(xs), _bar_labels(pairs), rotation=20, ha="right")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_ylabel("dollars")
    ax.set_title("Profit per pair after fees: reported vs realised")
    ax.legend()
    written.append(_save(fig, out_dir / "pnl_by_pair.png"))

    fig = Figure(figsize=(6.5, 3.8), layout="constrained")
    ax = fig.subplots()
    delays = [p.delay_ms / 1000 for p in summary.decay]
    ax.plot(delays, [float(p.share) * 100 for p in summary.decay], marker="o", color="#27a")
    ax.set_xlabel("delay (s), every venue")
    ax.set_ylabel("still fully takeable (%)", color="#27a")
    ax.set_ylim(-5, 105)
    ax2 = ax.twinx()
    ax2.plot(delays, [float(p.edge) for p in summary.decay], marker="s", color="#c54")
    ax2.axhline(0, color="#c54", linewidth=0.5, linestyle=":")
    ax2.set_ylabel("realised edge per contract ($)", color="#c54")
    ax.set_title("Edge decay")
    written.append(_save(fig, out_dir / "decay.png"))

    fig = Figure(figsize=(max(6, 1.2 * len(pairs) + 2), 3.8), layout="constrained")
    ax = fig.subplots()
    data: list[list[float]] = [[ms / 1000 for ms in p.lifetimes_ms] for p in pairs]
    if any(data):
        ax.boxplot(data, showfliers=True)
        for x, seconds in enumerate(data, start=1):
            ax.scatter([x] * len(seconds), seconds, s=12, color="#27a", zorder=3)
        ax.set_xticks(range(1, len(pairs) + 1), _bar_labels(pairs), rotation=20, ha="right")
    ax.set_ylim(bottom=0)
    ax.set_ylabel("lifetime (s)")
    ax.set_title("Opportunity lifetimes per pair")
    written.append(_save(fig, out_dir / "lifetimes.png"))
    return written


def _save(fig: object, path: Path) -> Path:
    fig.savefig(path, dpi=100)  # type: ignore[attr-defined]
    return path


def write_trades_csv(result: BacktestResult, path: Path) -> None:
    """Every order of every trade (and every skipped opportunity), one row each."""
    with path.open("w", newline="", encoding="utf-8") as fp:
        w = csv.writer(fp)
        w.writerow(
            [
                "signal_id",
                "pair_id",
                "key",
                "signal_ts",
                "reported_size",
                "reported_profit",
                "trade_pnl",
                "purpose",
                "venue",
                "side",
                "outcome",
                "ts",
                "qty",
                "limit",
                "filled",
                "notional",
                "fees",
                "reason",
            ]
        )
        for item in result.taken:
            sig = item.episode.signal
            opp = sig.opportunity
            head = [sig.id, opp.pair_id, opp.key, sig.ts, opp.size, opp.net_profit]
            if item.trade is None:
                w.writerow([*head, "", "skipped", "", "", "", "", "", "", "", "", "", "", item.skipped])
                continue
            for fill in (*item.trade.orders, *item.trade.marks):
                o = fill.order
                w.writerow(
                    [
                        *head,
                        item.trade.pnl,
                        o.purpose,
                        o.venue,
                        o.side,
                        o.outcome,
                        o.ts,
                        o.qty,
                        "" if o.limit is None else o.limit,
                        fill.filled,
                        fill.notional,
                        fill.fees,
                        fill.reason,
                    ]
                )


@dataclass(frozen=True, slots=True)
class ReportFiles:
    summary: Path
    trades: Path
    markdown: Path
    charts: tuple[Path, ...]
    charts_missing: str = ""  # why there are no charts ("" when there are)


def write_report(
    summary: Summary, result: BacktestResult, out_dir: Path, *, recording: str, seconds: float
) -> ReportFiles:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_path = out_dir / "summary.json"
    body = {"recording": recording, "config": describe_config(result), **summary.to_json()}
    summary_path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    trades_path = out_dir / "trades.csv"
    write_trades_csv(result, trades_path)
    charts: tuple[Path, ...] = ()
    missing = ""
    try:
        charts = tuple(write_charts(summary, out_dir))
    except ImportError:
        missing = "matplotlib is not installed (pip install 'echoarb[report]'): no charts"
    md = out_dir / "report.md"
    md.write_text(_markdown(summary, result, recording, seconds, charts, missing), encoding="utf-8")
    return ReportFiles(summary_path, trades_path, md, charts, missing)


def _decay_rows(points: Sequence[DecayPoint]) -> list[str]:
    rows = [
        "| delay | trades | still fully takeable | realised P&L | realised edge / contract |",
        "|---:|---:|---:|---:|---:|",
    ]
    for p in points:
        rows.append(
            f"| {p.delay_ms} ms | {p.trades} | {p.takeable} ({float(p.share):.1%}) | "
            f"{_money(p.realised)} | {p.edge} |"
        )
    return rows


def _markdown(
    summary: Summary,
    result: BacktestResult,
    recording: str,
    seconds: float,
    charts: tuple[Path, ...],
    missing: str,
) -> str:
    t = summary.total
    out = [
        "# EchoArb backtest",
        "",
        f"Recording `{recording}`: {summary.frames} frames ({summary.parse_errors} rejected), "
        f"{summary.ticks} ticks, {summary.spreads} spread events ({t.signals} executable)"
        + (f"; {seconds:.2f} s ({summary.frames / seconds:,.0f} frames/s)." if seconds else "."),
        "",
        f"Settings: {describe_config(result)}.",
        "",
        "## Headline",
        "",
        "| opportunities seen | taken | filled | fully filled | one-legged | one-legged cost |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {t.seen} | {t.taken} | {t.filled_any} | {t.fully_filled} ({_pct(t.fully_filled, t.taken)}) | "
        f"{t.one_legged} ({_pct(t.one_legged, t.taken)}) | {_money(t.one_legged_cost)} |",
        "",
        "| reported profit | realised P&L after fees | fees paid | capital |",
        "|---:|---:|---:|---:|",
        f"| {_money(t.reported)} | {_money(t.realised)} | {_money(t.fees)} | {_money(t.capital)} |",
        "",
    ]
    if "funnel.png" in {c.name for c in charts}:
        out += ["![opportunities](funnel.png)", ""]
    out += [
        "## Per pair",
        "",
        "| pair | seen | taken | fully filled | one-legged | reported | realised | capital | "
        "lifetime min / median / max (ms) | resolution | annualised |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for pair_id in sorted(summary.pairs):
        p = summary.pairs[pair_id]
        res = summary.resolutions.get(pair_id)
        ann = p.annualised(res)
        life = sorted(p.lifetimes_ms)
        life_text = f"{life[0]} / {life[len(life) // 2]} / {life[-1]}" if life else "-"
        out.append(
            f"| {pair_id} | {p.seen} | {p.taken} | {p.fully_filled} | {p.one_legged} | "
            f"{_money(p.reported)} | {_money(p.realised)} | {_money(p.capital)} | {life_text} | "
            f"{_date(res)} | "
            f"{'-' if ann is None else f'{ann:.1%}'} |"
        )
    out.append("")
    if not summary.resolutions:
        out += ["Resolution dates are not known (`--resolves PAIR=YYYY-MM-DD`): no annualised return.", ""]
    for name, title in (("pnl_by_pair.png", "profit per pair"), ("lifetimes.png", "lifetimes")):
        if name in {c.name for c in charts}:
            out += [f"![{title}]({name})", ""]
    out += [
        "## Edge decay",
        "",
        "Every venue's latency set to the delay; the share of taken opportunities whose every leg "
        "still fills the reported size at the reported limit prices, and the realised P&L per "
        "reported contract.",
        "",
        *_decay_rows(summary.decay),
        "",
    ]
    if "decay.png" in {c.name for c in charts}:
        out += ["![edge decay](decay.png)", ""]
    if missing:
        out += [f"_{missing}_", ""]
    out += ["Every order of every trade: `trades.csv`; the figures: `summary.json`.", ""]
    return "\n".join(out)
