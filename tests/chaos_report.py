"""``make chaos``: the fault-injection tests in one go, with a table of what was tried.

Each fault test carries ``@pytest.mark.chaos(fault, expect)``: what is injected and what
must hold afterwards. The tests are part of ``make test`` too; this plugin only adds the
table: per fault, how many times it was tried, the outcome (held, or FAILED with the
reason) and the longest time a try took (for a recovery: its time to recover).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pytest


@dataclass
class Row:
    expect: str
    tries: int = 0
    failed: list[str] = field(default_factory=list)
    worst_s: float = 0.0


ROWS: dict[str, Row] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("chaos")
    if marker is None or report.when != "call":
        return
    fault = str(marker.args[0]) if marker.args else item.name
    expect = str(marker.args[1]) if len(marker.args) > 1 else ""
    row = ROWS.setdefault(fault, Row(expect))
    row.tries += 1
    row.worst_s = max(row.worst_s, report.duration)
    if report.failed:
        row.failed.append(item.name)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not ROWS:
        return
    width = max(len(f) for f in ROWS)
    terminalreporter.write_sep("=", "fault injection")
    terminalreporter.write_line(f"{'fault':<{width}}  tries  outcome   worst s  what must hold")
    by_outcome: dict[str, int] = defaultdict(int)
    for fault, row in ROWS.items():
        outcome = "FAILED" if row.failed else "held"
        by_outcome[outcome] += row.tries
        terminalreporter.write_line(
            f"{fault:<{width}}  {row.tries:>5}  {outcome:<8} {row.worst_s:>8.1f}  {row.expect}"
        )
        for name in row.failed:
            terminalreporter.write_line(f"{'':<{width}}         failed: {name}")
