"""Delivery of alerts: the log at once, and each webhook URL from its own queue and task.

``AlertDispatcher.submit`` is synchronous and never waits: the feed calls it inline. Per URL,
a task takes alerts in order, waits for the URL's rate limit (token bucket), and POSTs.
5xx answers, 429, timeouts and connection errors are retried with exponential backoff (full
jitter) and the alert stays at the head of the queue, so a receiver that is down for a while
gets everything, in order, once it is back. Other 4xx answers are the receiver refusing the
payload: logged and dropped. A URL's queue holds ``queue_size`` alerts; beyond that the
oldest is dropped and counted (a receiver down for hours must not eat the server's memory).
Every POST carries ``X-EchoArb-Alert-Id`` so a receiver can deduplicate retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from decimal import Decimal
from typing import Any

import aiohttp

from echoarb.alerts.engine import Alert
from echoarb.alerts.rules import AlertsConfig, Webhook
from echoarb.resilience.backoff import Backoff
from echoarb.resilience.ratelimit import TokenBucket

log = logging.getLogger("echoarb.alerts")


def describe(alert: Alert) -> str:
    e = alert.event
    legs = " + ".join(f"{leg['side'].upper()} {leg['venue']} @{leg['best_price']}" for leg in e["legs"])
    edge = Decimal(e["net_edge"]) * 100
    return (
        f"EchoArb [{alert.rule}] {e['pair_id']}: {legs}, size {e['size']}, "
        f"net profit ${e['net_profit']} ({edge:.2f}% net edge)" + (" executable" if e["executable"] else "")
    )


def payload(alert: Alert, fmt: str) -> dict[str, Any]:
    if fmt == "slack":
        return {"text": describe(alert)}
    if fmt == "discord":
        return {"content": describe(alert)}
    return {"type": "echoarb.alert", "id": alert.id, "rule": alert.rule, "key": alert.key,
            "text": describe(alert), "opportunity": alert.event}  # fmt: skip


class _Target:
    def __init__(self, hook: Webhook, config: AlertsConfig) -> None:
        self.hook = hook
        self.queue: deque[Alert] = deque()
        self.max_queue = config.queue_size
        self.wake = asyncio.Event()
        self.bucket = TokenBucket.per_minute(hook.max_per_minute, burst=max(1, min(10, hook.max_per_minute)))
        self.backoff = Backoff(config.backoff_base_s, max(config.backoff_cap_s, config.backoff_base_s))
        self.delivered = 0
        self.retries = 0
        self.failed = 0
        self.dropped = 0
        self.task: asyncio.Task[None] | None = None


class AlertDispatcher:
    def __init__(self, config: AlertsConfig) -> None:
        self.config = config
        self.targets = [_Target(hook, config) for hook in config.webhooks]
        self.logged = 0
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(headers={"User-Agent": "echoarb-alerts"})
        for target in self.targets:
            target.task = asyncio.create_task(self._deliver(target), name=f"alerts {target.hook.url}")

    def submit(self, alert: Alert) -> None:
        if self.config.log:
            self.logged += 1
            log.info("alert %s: %s", alert.id, describe(alert))
        for target in self.targets:
            if len(target.queue) >= target.max_queue:
                target.queue.popleft()
                target.dropped += 1
                log.warning("alert queue for %s full: oldest alert dropped", _safe(target.hook.url))
            target.queue.append(alert)
            target.wake.set()

    def pending(self) -> int:
        return sum(len(t.queue) for t in self.targets)

    async def _deliver(self, target: _Target) -> None:
        hook = target.hook
        while True:
            while not target.queue:
                target.wake.clear()
                await target.wake.wait()
            alert = target.queue[0]
            await target.bucket.acquire()
            outcome = await self._post(hook, alert)
            if outcome == "ok" or outcome == "refused":
                target.queue.popleft()
                target.backoff.reset()
                if outcome == "ok":
                    target.delivered += 1
                else:
                    target.failed += 1
                continue
            target.retries += 1
            if target.backoff.attempt + 1 >= hook.max_attempts:
                target.queue.popleft()
                target.failed += 1
                target.backoff.reset()
                log.error("alert %s to %s given up after %d attempts (%s)", alert.id, _safe(hook.url),
                          hook.max_attempts, outcome)  # fmt: skip
                continue
            delay = target.backoff.next_delay()
            log.warning("alert %s to %s: %s; retry %d in %.1fs", alert.id, _safe(hook.url), outcome,
                        target.backoff.attempt, delay)  # fmt: skip
            await asyncio.sleep(delay)

    async def _post(self, hook: Webhook, alert: Alert) -> str:
        assert self._session is not None
        try:
            async with self._session.post(
                hook.url,
                json=payload(alert, hook.format),
                headers={"X-EchoArb-Alert-Id": alert.id},
                timeout=aiohttp.ClientTimeout(total=hook.timeout_s),
            ) as response:
                if 200 <= response.status < 300:
                    return "ok"
                if response.status >= 500 or response.status in (408, 429):
                    return f"HTTP {response.status}"
                body = (await response.text())[:200]
                log.error(
                    "alert %s refused by %s: HTTP %d %s", alert.id, _safe(hook.url), response.status, body
                )
                return "refused"
        except TimeoutError:
            return "timeout"
        except aiohttp.ClientError as exc:
            return type(exc).__name__

    async def stop(self, drain_s: float = 2.0) -> None:
        """Give queued alerts ``drain_s`` seconds, then stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(drain_s):
                while self.pending():
                    await asyncio.sleep(0.05)
        for target in self.targets:
            if target.task is not None:
                target.task.cancel()
        await asyncio.gather(*(t.task for t in self.targets if t.task), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None


def _safe(url: str) -> str:
    """Scheme, host and the first path segment: webhook URLs carry their secret in the path."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    first = parts.path.strip("/").split("/")[0] if parts.path.strip("/") else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/{first}{'/…' if first else ''}"
