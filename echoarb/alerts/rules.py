"""Alert rules and targets, read from a JSON file (``ALERTS_FILE``, default ``config/alerts.json``).

```json
{"rules": [{"name": "big", "min_net_edge": "0.01", "min_net_profit": "1", "executable_only": true,
            "pairs": ["fed-rate-march"], "cooldown_s": 300}],
 "webhooks": [{"url": "https://hooks.slack.com/services/...", "format": "slack"}],
 "log": true}
```

A rule matches a spread event when every condition it names holds. Formats: ``json`` (the
alert with the whole spread event), ``slack`` (``{"text": ...}``, Slack incoming webhooks and
Discord's ``/slack`` webhook endpoint) and ``discord`` (``{"content": ...}``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class AlertsConfigError(ValueError):
    pass


class AlertRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    min_net_edge: Decimal | None = None
    min_net_profit: Decimal | None = None
    executable_only: bool = True
    pairs: frozenset[str] = frozenset()
    cooldown_s: float = Field(300.0, ge=0, description="per opportunity: no second alert sooner than this")

    def matches(self, event: dict[str, Any]) -> bool:
        if self.executable_only and not event["executable"]:
            return False
        if self.pairs and event["pair_id"] not in self.pairs:
            return False
        if self.min_net_edge is not None and Decimal(event["net_edge"]) < self.min_net_edge:
            return False
        return not (self.min_net_profit is not None and Decimal(event["net_profit"]) < self.min_net_profit)


class Webhook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    format: Literal["json", "slack", "discord"] = "json"
    max_per_minute: int = Field(30, ge=1, description="rate limit for this URL")
    timeout_s: float = Field(5.0, gt=0)
    max_attempts: int = Field(20, ge=1, description="deliveries tried before the alert is given up (logged)")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value


class AlertsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[AlertRule, ...] = ()
    webhooks: tuple[Webhook, ...] = ()
    log: bool = True
    backoff_base_s: float = Field(0.5, gt=0)
    backoff_cap_s: float = Field(30.0, gt=0)
    queue_size: int = Field(10_000, ge=1, description="alerts held per URL while it is down")


def parse_alerts(raw: object, where: str = "alerts config") -> AlertsConfig:
    try:
        return AlertsConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'top level'}: {e['msg']}" for e in exc.errors()
        )
        raise AlertsConfigError(f"{where}: {problems}") from None


def load_alerts(path: Path) -> AlertsConfig:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AlertsConfigError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise AlertsConfigError(f"{path}: not valid JSON: {exc}") from None
    return parse_alerts(raw, str(path))
