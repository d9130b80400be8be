"""``Settings.child_env``: every setting reaches a child process, secrets included, never in a log."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from echoarb.services.worker_process import WorkerProcess
from echoarb.settings import Settings

CHILD = """
import json
from pydantic import SecretStr
from echoarb.settings import Settings
s = Settings(_env_file=None)
print(json.dumps({n: (v.get_secret_value() if isinstance(v, SecretStr) else v)
                  for n, v in ((n, getattr(s, n)) for n in type(s).model_fields)}, default=str))
"""


def _other(name: str, annotation: Any, default: Any) -> Any:
    """A valid value of the field's type that differs from ``default``."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Literal:
        return next(a for a in typing.get_args(annotation) if a != default)
    if args and typing.get_origin(args[0]) is typing.Literal:  # Optional[Literal[...]]
        return next(a for a in typing.get_args(args[0]) if a != default)
    kind = args[0] if args and typing.get_origin(annotation) is not typing.Literal else annotation
    if kind is bool:
        return not default
    if kind is int:
        return (default or 0) + 3
    if kind is float:
        return (default or 1.0) + 0.25
    if kind is Decimal:
        return (default or Decimal(0)) + Decimal("0.0125")
    if kind is Path:
        return Path(f"/srv/echoarb/{name}")
    if kind is SecretStr:
        return SecretStr(f"s3cret-{name}-=&;$'\"")
    if kind is str:
        return f"{default or ''}{name}-x"
    raise AssertionError(f"no test value for {name}: {annotation!r} (teach _other the type)")


def _every_field_changed() -> Settings:
    fields = Settings.model_fields
    values = {name: _other(name, f.annotation, f.default) for name, f in fields.items()}
    # Settings that must agree with each other (validated together): one consistent choice.
    values.update(
        kafka_security_protocol="SASL_SSL",
        clickhouse_url=SecretStr("http://echoarb@clickhouse:8123/echoarb"),  # + clickhouse_password
        kalshi_account_precision=Decimal("0.0001"),  # one of two valid values
    )
    settings = Settings(_env_file=None, **values)
    for name, field in fields.items():
        assert getattr(settings, name) != field.default, name
    return settings


def _plain(settings: Settings) -> dict[str, Any]:
    out = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        out[name] = str(value.get_secret_value() if isinstance(value, SecretStr) else value)
    return out


def _child(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    body: dict[str, Any] = json.loads(result.stdout)
    return {name: str(value) for name, value in body.items()}


def test_every_field_reaches_a_child(tmp_path: Path) -> None:
    settings = _every_field_changed()
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path), "kafka_bootstrap": "stale:1"}
    assert _child(settings.child_env(base), tmp_path) == _plain(settings)


def test_unset_optional_settings_stay_unset_in_the_child(tmp_path: Path) -> None:
    """The parent's environment and .env must not leak a value the parent's settings do not have."""
    (tmp_path / ".env").write_text("KALSHI_API_KEY=from-dotenv\nWORKER_CANONICAL_URL=http://x\n")
    settings = Settings(_env_file=None)
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path), "KAFKA_BOOTSTRAP": "stale:1"}
    child = _child(settings.child_env(base), tmp_path)
    assert child == _plain(settings)
    assert child["kafka_bootstrap"] == child["kalshi_api_key"] == child["worker_canonical_url"] == "None"


def test_overrides_apply_to_the_child_only() -> None:
    settings = Settings(_env_file=None)
    env = settings.child_env({}, worker_id="w-7", merge_max_wait_ms=5, kafka_bootstrap="h:9092")
    assert (env["WORKER_ID"], env["MERGE_MAX_WAIT_MS"], env["KAFKA_BOOTSTRAP"]) == ("w-7", "5", "h:9092")
    assert settings.worker_id == "echoarb"
    with pytest.raises(TypeError, match="not settings"):
        settings.child_env({}, wokrer_id="typo")


def test_secrets_are_masked_when_the_env_is_printed() -> None:
    settings = Settings(
        _env_file=None, kalshi_api_key=SecretStr("key-id-123"), clickhouse_url=SecretStr("http://u:pw@h/db")
    )
    env = settings.child_env({})
    assert env["KALSHI_API_KEY"] == "key-id-123" and env["CLICKHOUSE_URL"] == "http://u:pw@h/db"
    for text in (repr(env), str(env), f"{env}", f"{env!r}"):
        assert "key-id-123" not in text and "pw" not in text
        assert "**********" in text


def test_worker_process_passes_every_setting(tmp_path: Path) -> None:
    settings = _every_field_changed()
    worker = WorkerProcess(
        settings,
        bootstrap="b:1",
        embedded_broker=True,
        worker_id="w-1",
        web_port=7001,
        merge_max_wait_ms=9,
        log_path=tmp_path / "w.log",
    )
    env = worker._env
    expected = settings.child_env(
        kafka_bootstrap="b:1",
        embedded_broker=True,
        worker_id="w-1",
        worker_web_port=7001,
        merge_max_wait_ms=9,
    )
    assert dict(env) == dict(expected)
    assert "s3cret" not in repr(env)
