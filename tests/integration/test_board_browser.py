"""The board in a real browser (Debian's chromium driven by Playwright): a recording with known
opportunities goes through the real pipeline (broker, Faust worker, sink) into ``echoarb serve``
(a child process); the page must show every current opportunity with the values of the spread
events (with days to resolution and annualised return from a discovery listing, and both
sort orders), survive a SIGKILL and restart of the server by reconnecting, and leave a screenshot.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright

from echoarb.discover import cache
from echoarb.discover.model import ListingEntry, OutcomeRef
from echoarb.discover.resolution import DAY_MS, capital_fields
from echoarb.kafka.embedded import EmbeddedBroker
from echoarb.kafka.processes import free_port
from echoarb.pairs import load_pairs
from echoarb.resources import EXAMPLE_PAIRS, SAMPLE_RECORDING
from echoarb.serve.state import opportunity_key
from echoarb.services.replay import run_replay
from echoarb.settings import Settings

SAMPLE = SAMPLE_RECORDING
# The sample's worked example (shared edge rules) crosses fed-rate-march at this receive time
# and closes again 4 s later; the test replays the sample up to here, so the final board holds
# that executable opportunity (and Manifold's play-money one beside it).
CROSSED_UNTIL_MS = 1767225756000
RESOLVES_MS = CROSSED_UNTIL_MS + 45 * DAY_MS  # the listing's expected resolution of that pair
PAIRS = EXAMPLE_PAIRS
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"  # tests/artifacts/ (git-ignored)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class ServeProcess:
    """``echoarb serve`` as a child process on a fixed port (so a restart is the same URL)."""

    def __init__(self, settings: Settings, bootstrap: str, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP": bootstrap,
            "ECHOARB_EMBEDDED_BROKER": "1",
            "PAIRS_FILE": str(PAIRS),
            "PARTITIONS": str(settings.partitions),
            "TOPIC_SPREADS": settings.topic_spreads,
            "TOPIC_TICKS_PREFIX": settings.topic_ticks_prefix,
            "TOPIC_SPREAD_WINDOWS": settings.topic_spread_windows,
            "TOPIC_DEAD_LETTER": settings.topic_dead_letter,
            "TOPIC_CONTROL": settings.topic_control,
            "DATA_DIR": str(log_path.parent),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "echoarb", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_path.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"serve not healthy in 30 s:\n{self.log_path.read_text()}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def write_listing(data_dir: Path) -> None:
    """A discovery listing with fed-rate-march's Kalshi and Polymarket markets resolving at RESOLVES_MS."""
    pair = next(p for p in load_pairs(PAIRS).pairs if p.id == "fed-rate-march")
    refs = {ref.venue: ref for ref in pair.venues}
    kalshi = ListingEntry("kalshi", refs["kalshi"].instrument, "Fed cuts in March?", resolve_ms=RESOLVES_MS)
    yes, no = refs["polymarket"].instrument, refs["polymarket"].no_instrument or ""
    poly = ListingEntry(
        "polymarket",
        "0xfed",
        "Fed cuts in March?",
        outcomes=(OutcomeRef("Yes", yes), OutcomeRef("No", no)),
        resolve_ms=RESOLVES_MS - DAY_MS,
    )
    cache.save(
        cache.cache_path(data_dir),
        {v: cache.VenueSection(v, 0, (e,)) for v, e in (("kalshi", kalshi), ("polymarket", poly))},
    )


async def row_order(page: Page) -> list[str]:
    keys: list[str] = await page.eval_on_selector_all("#rows tr", "trs => trs.map(tr => tr.dataset.key)")
    return keys


async def rows_on_page(page: Page) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = await page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#rows tr')].map(tr => [tr.dataset.key, {
            executable: tr.dataset.executable, cls: tr.className,
            cells: Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map(
                td => [td.dataset.field, {value: td.dataset.value, text: td.textContent}])),
            legs: [...tr.querySelectorAll('td[data-venue]')].map(
                td => [td.dataset.venue, td.dataset.side, td.dataset.price]),
        }]))"""
    )
    return result


async def test_board_shows_replayed_opportunities_and_reconnects(
    broker: EmbeddedBroker, chdb_data_dir: Path, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        data_dir=chdb_data_dir,
        clickhouse_database=f"board_{run}",
        topic_ticks_prefix=f"board-{run}.ticks.",
        topic_spreads=f"board-{run}.spreads",
        topic_spread_windows=f"board-{run}.windows",
        topic_dead_letter=f"board-{run}.dead-letter",
        topic_control=f"board-{run}.control",
        partitions=4,
        pairs_file=PAIRS,
    )
    from echoarb.kafka import client_config

    await client_config.ensure_topics(broker.bootstrap, settings)
    recording = tmp_path / "crossed.jsonl"
    with SAMPLE.open() as src, recording.open("w") as dst:
        dst.writelines(line for line in src if json.loads(line)["recv_ts"] <= CROSSED_UNTIL_MS)
    write_listing(tmp_path)  # serve reads expected resolutions from DATA_DIR's discovery listing
    server = ServeProcess(settings, broker.bootstrap, free_port(), tmp_path / "serve.log")
    await asyncio.to_thread(server.start)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    events: list[dict[str, Any]] = []
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            await page.goto(f"http://127.0.0.1:{server.port}/")
            await page.wait_for_selector("#conn[data-state=open]", timeout=15_000)
            assert await page.locator("#rows tr").count() == 0

            # The recording goes through the whole pipeline while the page is open.
            await run_replay(
                settings,
                load_pairs(PAIRS),
                recording,
                None,
                bootstrap=broker.bootstrap,
                embedded_broker=True,
                timeout=120,
                on_event=events.append,
            )
            latest: dict[str, dict[str, Any]] = {}
            for event in events:  # one key lives on one partition: read order is event order
                latest[opportunity_key(event)] = {**event, **capital_fields(event, RESOLVES_MS)}
            known = [(e["pair_id"], e["net_profit"], e["executable"]) for e in latest.values()]
            assert sorted(known) == [("fed-rate-march", "1.9043", True), ("fed-rate-march", "5.8936", False)]
            await page.wait_for_function(
                f"document.querySelectorAll('#rows tr').length === {len(latest)}", timeout=30_000
            )
            await page.wait_for_function(
                "ids => ids.every(id => document.querySelector(`#rows tr[data-event-id='${id}']`))",
                arg=[e["id"] for e in latest.values()],
                timeout=30_000,
            )
            shown = await rows_on_page(page)
            assert set(shown) == set(latest)
            for key, event in latest.items():
                row = shown[key]
                for field in ("size", "cost", "fees", "net_profit", "net_edge"):
                    assert Decimal(row["cells"][field]["value"]) == Decimal(event[field]), (key, field)
                assert row["cells"]["net_edge"]["text"] == f"{Decimal(event['net_edge']) * 100:.2f}%"
                assert row["cells"]["net_profit"]["text"] == f"${Decimal(event['net_profit']):.2f}"
                days = row["cells"]["days_to_resolution"]
                assert Decimal(days["value"]) == Decimal(str(event["days_to_resolution"])), key
                assert days["text"] == f"{event['days_to_resolution']:.1f} d"
                annualised = row["cells"]["annualised_return"]
                assert Decimal(annualised["value"]) == Decimal(event["annualised_return"]), key
                assert annualised["text"] == f"{Decimal(event['annualised_return']) * 100:.2f}%"
                assert row["executable"] == str(event["executable"]).lower()
                assert ("exec" in row["cls"].split()) == event["executable"]
                assert row["legs"] == [
                    [leg["venue"], leg["side"], leg["best_price"] or ""] for leg in event["legs"][:2]
                ]
            # Net edge order puts executable first; the annualised sort ranks by return alone.
            by_edge = sorted(latest.values(), key=lambda e: (not e["executable"], -Decimal(e["net_edge"])))
            assert await row_order(page) == [opportunity_key(e) for e in by_edge]
            await page.select_option("#f-sort", "annualised_return")
            by_return = sorted(latest.values(), key=lambda e: -Decimal(e["annualised_return"]))
            assert await row_order(page) == [opportunity_key(e) for e in by_return]
            assert by_return != by_edge  # the sample's non-executable row earns more per day
            pairs_with_rows = {e["pair_id"] for e in latest.values()}
            await page.wait_for_function(
                f"document.querySelectorAll('#charts .chart polyline').length >= {len(latest)}",
                timeout=10_000,
            )
            assert await page.locator("#charts .chart").count() == len(pairs_with_rows)

            # Kill the server: the page notices, retries, and reconnects to the restarted one.
            await asyncio.to_thread(server.kill)
            await page.wait_for_selector("#conn[data-state=closed]", timeout=15_000)
            await asyncio.to_thread(server.start)
            await page.wait_for_function("window.echoarbBoard.connections >= 2", timeout=30_000)
            await page.wait_for_selector("#conn[data-state=open]", timeout=5_000)
            await page.wait_for_function(
                f"document.querySelectorAll('#rows tr').length === {len(latest)}", timeout=30_000
            )
            assert set(await rows_on_page(page)) == set(latest)
            await page.screenshot(path=str(ARTIFACTS / "board.png"), full_page=True)

            # The API docs page renders the OpenAPI document (Swagger UI, served locally).
            await page.goto(f"http://127.0.0.1:{server.port}/docs")
            await page.wait_for_function("document.querySelectorAll('.opblock').length === 5", timeout=30_000)
            paths = await page.eval_on_selector_all(
                ".opblock-summary-path", "els => els.map(e => e.textContent.replace(/\u200b/g, ''))"
            )
            assert set(paths) == {
                "/api/spreads",
                "/api/pairs/{pair_id}",
                "/ws/spreads",
                "/health",
                "/metrics",
            }
            await page.screenshot(path=str(ARTIFACTS / "docs.png"), full_page=True)
            await browser.close()
    finally:
        await asyncio.to_thread(server.stop)
    assert (ARTIFACTS / "board.png").stat().st_size > 10_000
