"""Which spread events become alerts: rule matching, per-opportunity cooldown, duplicate ids.

An opportunity is a key (pair, kind, legs' venue and side). It alerts when it starts matching
a rule; while it keeps matching, later events are the same opportunity and stay quiet, and a
new episode (it stopped matching, then matches again) alerts only after the rule's cooldown.
A spread event seen twice (at-least-once delivery, a re-read after a restart) never alerts twice.
Pure and synchronous: called inline by the feed, it only decides and hands off.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from echoarb.alerts.rules import AlertRule


@dataclass(frozen=True, slots=True)
class Alert:
    id: str  # stable per (rule, opportunity, episode start event): receivers can deduplicate
    rule: str
    key: str
    event: dict[str, Any]


class AlertEngine:
    def __init__(
        self,
        rules: tuple[AlertRule, ...],
        *,
        clock: Callable[[], float],
        seen_ids: int = 100_000,
    ) -> None:
        self.rules = rules
        self.clock = clock
        self._matching: set[tuple[str, str]] = set()
        self._last_alert: dict[tuple[str, str], float] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_max = seen_ids
        self.duplicates = 0

    def evaluate(self, event: dict[str, Any]) -> list[Alert]:
        event_id = event["id"]
        if event_id in self._seen:
            self.duplicates += 1
            return []
        self._seen[event_id] = None
        if len(self._seen) > self._seen_max:
            self._seen.popitem(last=False)
        key = event["key"]
        alerts = []
        now = self.clock()
        for rule in self.rules:
            slot = (rule.name, key)
            if not rule.matches(event):
                self._matching.discard(slot)
                continue
            if slot in self._matching:
                continue  # the same opportunity, still matching
            self._matching.add(slot)
            last = self._last_alert.get(slot)
            if last is not None and now - last < rule.cooldown_s:
                continue
            self._last_alert[slot] = now
            digest = hashlib.blake2b(f"{rule.name}|{event_id}".encode(), digest_size=10).hexdigest()
            alerts.append(Alert(digest, rule.name, key, event))
        return alerts
