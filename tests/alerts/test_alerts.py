"""Alerts: rules, one alert per opportunity, and webhook delivery against a real local HTTP
receiver (aiohttp server): a retry after a 500, nothing lost while the receiver is down, the
feed never waits, Slack/Discord payloads."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from echoarb.alerts.delivery import AlertDispatcher
from echoarb.alerts.engine import AlertEngine
from echoarb.alerts.rules import AlertsConfigError, load_alerts, parse_alerts
from echoarb.kafka.processes import free_port
from echoarb.resources import EXAMPLE_ALERTS
from echoarb.serve.state import SpreadState
from echoarb.wire.records import spread_record_to_json
from tests.serve.helpers import spread_record


def event(state: SpreadState, **kw: Any) -> dict[str, Any]:
    return state.apply_event(spread_record_to_json(spread_record(**kw))).event


class Receiver:
    """A webhook receiver on a fixed port that can answer 500s and be taken down and up."""

    def __init__(self) -> None:
        self.port = free_port()
        self.got: list[dict[str, Any]] = []
        self.ids: list[str] = []
        self.fail_next = 0
        self.requests = 0
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.fail_next:
            self.fail_next -= 1
            return web.Response(status=500, text="boom")
        self.got.append(await request.json())
        self.ids.append(request.headers["X-EchoArb-Alert-Id"])
        return web.Response(status=204)

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post("/hook/{secret}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def down(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook/s3cret"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.up()
    yield r
    await r.down()


def config(url: str, fmt: str = "json", **rule: Any) -> Any:
    return parse_alerts({
        "rules": [{"name": "exec", "min_net_edge": "0.01", "cooldown_s": 60, **rule}],
        "webhooks": [{"url": url, "format": fmt, "max_per_minute": 600, "max_attempts": 100}],
        "backoff_base_s": 0.05, "backoff_cap_s": 0.3,
    })  # fmt: skip


def test_rules_cooldown_and_duplicates() -> None:
    cfg = config("http://127.0.0.1:1/x", pairs=["fed-rate-march"], min_net_profit="1")
    now = [1000.0]
    engine = AlertEngine(cfg.rules, clock=lambda: now[0])
    state = SpreadState()
    first = event(state, event_ts=1)
    assert len(engine.evaluate(first)) == 1
    assert engine.evaluate(first) == [] and engine.duplicates == 1  # the same event again
    assert engine.evaluate(event(state, event_ts=2, size="200")) == []  # same opportunity, still on
    assert engine.evaluate(event(state, event_ts=3, executable=False)) == []  # it closes
    now[0] += 10
    assert engine.evaluate(event(state, event_ts=4)) == []  # reopens inside the cooldown
    engine.evaluate(event(state, event_ts=5, executable=False))
    now[0] += 60
    assert len(engine.evaluate(event(state, event_ts=6))) == 1  # after the cooldown
    assert engine.evaluate(event(state, pair_id="btc-100k-june", event_ts=7)) == []  # other pair
    thin = event(state, yes="polymarket", no="kalshi", event_ts=8, yes_price="0.496", no_price="0.496",
                 size="1000", fees="0")  # fmt: skip
    assert engine.evaluate(thin) == []  # $8 profit but net edge below 1%


def test_config_file_errors_are_one_line(tmp_path: Path) -> None:
    assert load_alerts(EXAMPLE_ALERTS).rules
    bad = tmp_path / "alerts.json"
    bad.write_text(
        json.dumps({"rules": [{"name": "x", "min_net_edge": "lots"}], "webhooks": [{"url": "ftp://x"}]})
    )
    with pytest.raises(AlertsConfigError) as info:
        load_alerts(bad)
    assert "rules.0.min_net_edge" in str(info.value) and "webhooks.0.url" in str(info.value)


async def test_one_alert_per_opportunity_retry_after_500_and_nothing_lost_while_down(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = config(receiver.url)
    engine, dispatcher = AlertEngine(cfg.rules, clock=time.monotonic), AlertDispatcher(cfg)
    await dispatcher.start()
    state = SpreadState()
    try:
        receiver.fail_next = 1  # the first delivery gets a 500
        expected: list[str] = []
        for pair in ("fed-rate-march", "btc-100k-june"):
            for ts in range(5):  # five events of one opportunity: one alert
                for alert in engine.evaluate(event(state, pair_id=pair, event_ts=100 + ts)):
                    expected.append(alert.id)
                    dispatcher.submit(alert)
        assert len(expected) == 2
        async with asyncio.timeout(10):
            while len(receiver.got) < 2:
                await asyncio.sleep(0.02)
        assert receiver.ids == expected and receiver.requests == 3  # one retry
        assert dispatcher.targets[0].retries == 1
        assert receiver.got[0]["opportunity"]["pair_id"] == "fed-rate-march"
        assert receiver.got[0]["type"] == "echoarb.alert" and "net profit" in receiver.got[0]["text"]

        # The receiver goes down; alerts keep coming and submit() never waits.
        await receiver.down()
        started = time.perf_counter()
        for i, pair in enumerate(("pres-2028-dem", "us-recession-2026", "pair-x")):
            for alert in engine.evaluate(event(state, pair_id=pair, event_ts=1000 + i)):
                expected.append(alert.id)
                dispatcher.submit(alert)
        assert time.perf_counter() - started < 0.5
        await asyncio.sleep(0.8)  # a few failed attempts meanwhile
        assert dispatcher.targets[0].retries >= 2 and dispatcher.pending() == 3
        await receiver.up()
        async with asyncio.timeout(15):
            while len(receiver.got) < 5:
                await asyncio.sleep(0.02)
        assert receiver.ids == expected  # all of them, in order, each once
        assert dispatcher.targets[0].failed == 0
        assert "s3cret" not in caplog.text  # the URL's secret path never reaches the log
    finally:
        await dispatcher.stop(0)


async def test_slack_and_discord_payloads(receiver: Receiver) -> None:
    for fmt, field in (("slack", "text"), ("discord", "content")):
        cfg = config(receiver.url, fmt)
        dispatcher = AlertDispatcher(cfg)
        await dispatcher.start()
        try:
            for alert in AlertEngine(cfg.rules, clock=time.monotonic).evaluate(event(SpreadState())):
                dispatcher.submit(alert)
            async with asyncio.timeout(10):
                while not receiver.got or field not in receiver.got[-1]:
                    await asyncio.sleep(0.02)
        finally:
            await dispatcher.stop(0)
        body = receiver.got[-1]
        assert list(body) == [field]
        assert body[field].startswith("EchoArb [exec] fed-rate-march: YES kalshi @0.4 + NO polymarket @0.5")
