"""The real Kalshi connector against the Kalshi simulator over loopback sockets."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from echoarb.venues.connector import ConnectorFatalError
from echoarb.venues.kalshi.auth import (
    KalshiKeyError,
    auth_headers,
    generate_keypair,
    load_private_key,
    load_public_key,
    verify,
)
from echoarb.venues.kalshi.client import KalshiConnector
from echoarb.venues.kalshi.protocol import KalshiProtocol
from echoarb.venues.kalshi.simulator import KalshiSimulator
from echoarb.venues.simulator import parse_scenario
from tests.venues.live_helpers import FAST, metric, pipeline, stop, until

TICKERS = ["FED-25MAR-T4.75", "KXBTCD-26JUN30-T100000", "KXRECSSNBER-26", "PRES-2028-D"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_keypair(tmp_path_factory.mktemp("kalshi-keys"))


def _sim(keys: tuple[Path, Path], *scenarios: str, **kwargs: Any) -> KalshiSimulator:
    return KalshiSimulator(
        load_public_key(keys[1]),
        [parse_scenario(s) for s in scenarios],
        key_id="key-1",
        interval=0.005,
        **kwargs,
    )


def _connector(sim: KalshiSimulator, key_path: Path, sink: Any, key_id: str = "key-1") -> KalshiConnector:
    return KalshiConnector(sim.url(), load_private_key(key_path), key_id, TICKERS, sink, FAST)


# -- key handling ------------------------------------------------------------------------------
def test_keys_are_generated_private(keys: tuple[Path, Path]) -> None:
    private, public = keys
    assert private.stat().st_mode & 0o777 == 0o600
    key = load_private_key(private)
    headers = auth_headers(key, "key-1", ts_ms=1767225600000)
    assert headers["KALSHI-ACCESS-TIMESTAMP"] == "1767225600000"
    assert verify(
        load_public_key(public), "1767225600000GET/trade-api/ws/v2", headers["KALSHI-ACCESS-SIGNATURE"]
    )
    assert not verify(
        load_public_key(public), "1767225600001GET/trade-api/ws/v2", headers["KALSHI-ACCESS-SIGNATURE"]
    )
    with pytest.raises(KalshiKeyError, match="already exists"):
        generate_keypair(private.parent)


def test_unusable_keys_are_refused_with_a_clear_message(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    with pytest.raises(KalshiKeyError, match="not set"):
        load_private_key(None)
    with pytest.raises(KalshiKeyError, match="not found"):
        load_private_key(tmp_path / "missing.pem")
    loose = tmp_path / "loose.pem"
    loose.write_bytes(keys[0].read_bytes())
    os.chmod(loose, 0o644)
    with pytest.raises(KalshiKeyError, match=r"group/others.*chmod 600"):
        load_private_key(loose)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    os.chmod(garbage, 0o600)
    with pytest.raises(KalshiKeyError, match="not an unencrypted PEM private key"):
        load_private_key(garbage)
    ec_key = tmp_path / "ec.pem"
    ec_key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    os.chmod(ec_key, 0o600)
    with pytest.raises(KalshiKeyError, match="not an RSA key"):
        load_private_key(ec_key)
    if os.geteuid() != 0:  # root reads anything
        unreadable = tmp_path / "unreadable.pem"
        unreadable.write_bytes(keys[0].read_bytes())
        os.chmod(unreadable, 0o000)
        with pytest.raises(KalshiKeyError, match="not readable"):
            load_private_key(unreadable)


def test_connector_repr_does_not_leak_the_key(keys: tuple[Path, Path]) -> None:
    async def sink(frame: Any) -> Any:  # pragma: no cover - never called
        raise AssertionError

    connector = KalshiConnector("ws://x/trade-api/ws/v2", load_private_key(keys[0]), "key-1", TICKERS, sink)
    assert "PRIVATE" not in repr(connector) and "key-1" not in repr(connector)


# -- over the wire ------------------------------------------------------------------------------
async def test_wrong_signature_gets_401_and_a_clear_error(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    other_private, _ = generate_keypair(tmp_path / "other")
    pipe, _ = pipeline()
    async with _sim(keys, "stream") as sim:
        connector = _connector(sim, other_private, pipe.on_frame)
        with pytest.raises(ConnectorFatalError, match=r"HTTP 401.*invalid signature"):
            await asyncio.wait_for(connector.run(), 5)
    assert sim.rejected == ["invalid signature"]
    assert sim.connections == 0


async def test_stale_timestamp_and_unknown_key_id_are_refused(keys: tuple[Path, Path]) -> None:
    pipe, _ = pipeline()
    async with _sim(keys, "stream") as sim:
        stale = _connector(sim, keys[0], pipe.on_frame)
        key = load_private_key(keys[0])
        stale.handshake_headers = lambda: auth_headers(  # type: ignore[method-assign]
            key, "key-1", path="/trade-api/ws/v2", ts_ms=int(time.time() * 1000) - 60_000
        )
        with pytest.raises(ConnectorFatalError, match="stale"):
            await asyncio.wait_for(stale.run(), 5)
        with pytest.raises(ConnectorFatalError, match="unknown key id"):
            await asyncio.wait_for(_connector(sim, keys[0], pipe.on_frame, key_id="other").run(), 5)
    assert sim.rejected == ["stale or invalid timestamp", "unknown key id"]


async def test_subscribes_the_book_per_ticker_and_the_lifecycle_and_streams_ticks(
    keys: tuple[Path, Path],
) -> None:
    pipe, publisher = pipeline()
    async with _sim(keys, "stream") as sim:
        connector = _connector(sim, keys[0], pipe.on_frame)
        tasks = [asyncio.create_task(connector.run()), asyncio.create_task(pipe.run())]
        try:
            await until(lambda: len(publisher.ticks) >= 30, what="30 ticks")
        finally:
            await stop(*tasks)
    assert [(c["cmd"], c["params"]) for c in sim.commands[:2]] == [
        ("subscribe", {"channels": ["orderbook_delta"], "market_tickers": TICKERS}),
        ("subscribe", {"channels": ["market_lifecycle_v2"]}),  # the venue takes no ticker filter
    ]
    assert {t.pair_id for t in publisher.ticks} >= {"fed-rate-march", "pres-2028-dem", "btc-100k-june"}
    assert all(t.venue == "kalshi" and t.in_sync for t in publisher.ticks)
    # The lifecycle's close times were learnt; deltas carry ts_ms (no receive-time fallback).
    kalshi = pipe.handler.parsers["kalshi"]
    assert isinstance(kalshi, KalshiProtocol)
    assert all((kalshi.close_ms(t) or 0) > publisher.ticks[-1].event_ts for t in TICKERS)
    # only snapshots and lifecycle events (which carry no time) fall back to the receive time
    assert pipe.handler.fallback_ts.get("kalshi", 0) < len(publisher.ticks) // 3
    assert pipe.stats.parse_errors == 0
    assert publisher.watermark > 0  # heartbeats advanced the watermark


async def test_seq_gap_resubscribes_for_a_fresh_snapshot(keys: tuple[Path, Path]) -> None:
    pipe, publisher = pipeline()
    async with _sim(keys, "updates:5,gap,updates:3,stream") as sim:
        connector = _connector(sim, keys[0], pipe.on_frame)
        tasks = [asyncio.create_task(connector.run()), asyncio.create_task(pipe.run())]
        try:
            await until(lambda: connector.resubscribes == 1, what="a resubscribe")
            desynced = len(publisher.ticks)
            await until(lambda: any(not t.in_sync for t in publisher.ticks), what="a desync tick")
            await until(
                lambda: (
                    any(t.in_sync for t in publisher.ticks[desynced:])
                    and len(publisher.ticks) > desynced + 10
                ),
                what="in-sync ticks after the fresh snapshot",
            )
        finally:
            await stop(*tasks)
    cmds = [(c["cmd"], c["params"].get("channels"), c["params"].get("sids")) for c in sim.commands]
    assert cmds[:3] == [
        ("subscribe", ["orderbook_delta"], None),
        ("subscribe", ["market_lifecycle_v2"], None),
        ("unsubscribe", None, [1]),  # the order book sid of the first subscribe
    ]
    assert cmds[3] == ("subscribe", ["orderbook_delta"], None)
    assert sim.connections == 1  # healed on the same connection
    assert connector.resubscribes == 1


async def test_disconnect_reconnects_and_resubscribes(keys: tuple[Path, Path]) -> None:
    pipe, publisher = pipeline()
    before = metric("echoarb_reconnect_attempts_total", venue="kalshi")
    async with _sim(keys, "updates:3,disconnect", "stream") as sim:
        connector = _connector(sim, keys[0], pipe.on_frame)
        tasks = [asyncio.create_task(connector.run()), asyncio.create_task(pipe.run())]
        try:
            await until(
                lambda: connector.sessions == 2 and connector.connected.is_set(), what="a second session"
            )
            count = len(publisher.ticks)
            await until(lambda: len(publisher.ticks) > count + 5, what="ticks after the reconnect")
            assert metric("echoarb_connections_active", venue="kalshi") == 1
        finally:
            await stop(*tasks)
    assert sim.connections == 2
    full = [c for c in sim.commands if c["params"].get("channels") == ["market_lifecycle_v2"]]
    assert len(full) == 2  # subscribed again on the new connection
    assert metric("echoarb_reconnect_attempts_total", venue="kalshi") == before + 1
    assert metric("echoarb_connections_active", venue="kalshi") == 0


async def test_silent_stall_is_detected_by_the_heartbeat_timeout(keys: tuple[Path, Path]) -> None:
    pipe, publisher = pipeline()
    async with _sim(keys, "updates:2,stall", "stream") as sim:
        connector = _connector(sim, keys[0], pipe.on_frame)
        tasks = [asyncio.create_task(connector.run()), asyncio.create_task(pipe.run())]
        try:
            await until(lambda: connector.heartbeat_timeouts == 1, what="a heartbeat timeout")
            await until(lambda: connector.sessions == 2, what="a reconnect")
            count = len(publisher.ticks)
            await until(lambda: len(publisher.ticks) > count + 5, what="ticks after the reconnect")
        finally:
            await stop(*tasks)
    assert "heartbeat timeout" in (connector.last_error or "")


async def test_pings_keep_a_quiet_connection_alive(keys: tuple[Path, Path]) -> None:
    """No market data for several heartbeat timeouts: pongs alone must keep the session."""
    pipe, _ = pipeline()
    async with _sim(keys, "wait:1.2") as sim:
        connector = _connector(sim, keys[0], pipe.on_frame)
        task = asyncio.create_task(connector.run())
        try:
            await until(lambda: sim.connections == 1 and connector.frames > 0, what="the subscription")
            await asyncio.sleep(1.0)  # 2.5 heartbeat timeouts of silence apart from pongs
        finally:
            await stop(task)
    assert connector.heartbeat_timeouts == 0 and connector.sessions == 1


async def test_malformed_frames_are_counted_and_the_connector_keeps_going(keys: tuple[Path, Path]) -> None:
    pipe, publisher = pipeline()
    before = metric("echoarb_parse_errors_total", venue="kalshi", reason="invalid_json")
    async with _sim(keys, "updates:2,malformed,updates:2,malformed,stream") as sim:
        connector = _connector(sim, keys[0], pipe.on_frame)
        tasks = [asyncio.create_task(connector.run()), asyncio.create_task(pipe.run())]
        try:
            await until(lambda: pipe.stats.parse_errors == 2, what="two parse errors")
            count = len(publisher.ticks)
            await until(lambda: len(publisher.ticks) > count + 5, what="ticks after the malformed frames")
        finally:
            await stop(*tasks)
    assert metric("echoarb_parse_errors_total", venue="kalshi", reason="invalid_json") == before + 2
    assert [venue for venue, _ in publisher.dead_letters] == ["kalshi", "kalshi"]
    assert connector.sessions == 1 and sim.connections == 1


# -- the CLI -------------------------------------------------------------------------------------
def test_cli_keys_and_ingest_refuses_a_loose_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from echoarb.cli import main

    assert main(["keys", "--dir", str(tmp_path / "keys")]) == 0
    private = tmp_path / "keys" / "kalshi.pem"
    assert private.stat().st_mode & 0o777 == 0o600
    os.chmod(private, 0o640)
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "127.0.0.1:1")  # never reached: the key check comes first
    monkeypatch.setenv("KALSHI_API_KEY", "key-1")
    monkeypatch.setenv("KALSHI_PRIVATE_KEY_PATH", str(private))
    assert main(["ingest", "--venue", "kalshi", "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert "refusing to start the Kalshi connector" in err and "chmod 600" in err
    assert "PRIVATE KEY" not in err
