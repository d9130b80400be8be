"""WEB_AUTH_TOKEN on the ``/metrics`` servers of ``echoarb ingest`` and ``echoarb sink``.

The real commands against the embedded broker: without the token (or with a wrong one)
``/metrics`` is a 401; with ``Authorization: Bearer <token>`` it is Prometheus text;
``/health`` answers without it (probes carry no secret).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from echoarb.kafka.embedded import EmbeddedBroker
from echoarb.kafka.processes import free_port
from tests.integration.procs import answers, clean_env, http_get, start

TOKEN = "metrics-token-9d2e"

COMMANDS = {
    # Manifold points at a closed port: ingest keeps reconnecting, its metrics server is up.
    "ingest": ["ingest", "--venue", "manifold"],
    "sink": ["sink"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_metrics_need_the_token_health_does_not(command: str, broker: EmbeddedBroker, tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(
        tmp_path / "data",
        KAFKA_BOOTSTRAP=broker.bootstrap,
        ECHOARB_EMBEDDED_BROKER="1",
        WEB_AUTH_TOKEN=TOKEN,
        MANIFOLD_API_URL="http://127.0.0.1:1/v0",
        MANIFOLD_WS_URL="ws://127.0.0.1:1/ws",
    )
    proc = start([*COMMANDS[command], "--metrics-port", str(port)], env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        proc.wait_line(r"metrics and health on http://127\.0\.0\.1:\d+/metrics", 90.0)
        assert answers(f"{base}/health")
        status, _ = http_get(f"{base}/health")
        assert status in (200, 503)  # its own state, never 401
        assert http_get(f"{base}/metrics")[0] == 401
        assert http_get(f"{base}/metrics", token="wrong")[0] == 401
        status, body = http_get(f"{base}/metrics", token=TOKEN)
        assert status == 200 and "echoarb_" in body, body[:500]
        assert TOKEN not in proc.output()  # the token itself is never logged
    finally:
        proc.signal()
        if proc.wait(30) is None:
            proc.kill()
