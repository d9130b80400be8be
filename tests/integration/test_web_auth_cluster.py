"""WEB_AUTH_TOKEN on the worker web views of a real two-worker cluster.

A table route (``/pairs/{id}/``, ``/windows/{id}/``) asked of the worker that does not hold
the pair's partition is forwarded by Faust to the one that does; that worker checks the
token too, so the forwarded request must carry it. Asked with the token, every pair answers
200 from either worker; without it, 401 before any routing; ``/health`` stays open.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from echoarb.kafka.embedded import EmbeddedBroker
from echoarb.pairs import load_pairs
from echoarb.services.replay import run_replay
from echoarb.services.worker_process import WorkerProcess
from tests.integration.replay_chaos import BeforeShutdown
from tests.integration.test_cluster import _crossing_recording, _settings

TOKEN = "worker-web-token-4f1c"


async def test_routed_table_views_need_the_token_on_both_workers(
    broker: EmbeddedBroker, chdb_data_dir: Path, tmp_path: Path
) -> None:
    rec_path, pairs_path = _crossing_recording(tmp_path)
    settings = _settings(chdb_data_dir, pairs_path).model_copy(update={"web_auth_token": SecretStr(TOKEN)})
    seen: dict[str, Any] = {"routed": []}
    good = {"Authorization": f"Bearer {TOKEN}"}
    bad = {"Authorization": "Bearer wrong"}

    async def probe(pool: list[WorkerProcess]) -> None:
        async with aiohttp.ClientSession() as http:
            bases = [f"http://127.0.0.1:{w.web_port}" for w in pool]
            held: list[set[str]] = []
            for base in bases:
                async with http.get(f"{base}/health") as r:  # open: no token
                    seen.setdefault("health", []).append(r.status)
                async with http.get(f"{base}/spreads/", headers=good) as r:
                    assert r.status == 200, await r.text()
                    held.append(set((await r.json())["pairs"]))
                for path in ("/spreads/", "/metrics", "/pairs/pair-00/"):
                    async with http.get(base + path) as r:
                        seen.setdefault("no token", []).append((path, r.status))
                    async with http.get(base + path, headers=bad) as r:
                        seen.setdefault("wrong token", []).append((path, r.status))
            # Ask each worker for pairs the *other* one holds: Faust forwards those.
            for i, base in enumerate(bases):
                for pair in sorted(held[1 - i])[:3]:
                    for view in ("pairs", "windows"):
                        url = f"{base}/{view}/{pair}/"
                        async with http.get(url, headers=good) as r:
                            seen["routed"].append((view, pair, r.status, await r.json()))
                        async with http.get(url) as r:
                            seen.setdefault("routed no token", []).append(r.status)
            seen["held"] = held

    await run_replay(
        settings,
        load_pairs(pairs_path),
        rec_path,
        tmp_path / f"{uuid.uuid4().hex[:6]}.jsonl",
        bootstrap=broker.bootstrap,
        embedded_broker=True,
        timeout=120,
        workers=2,
        hooks=BeforeShutdown(probe),
    )
    assert seen["health"] == [200, 200]
    held = seen["held"]
    assert held[0] and held[1] and held[0].isdisjoint(held[1])
    assert {status for _, status in seen["no token"]} == {401}
    assert {status for _, status in seen["wrong token"]} == {401}
    assert set(seen["routed no token"]) == {401}
    routed = seen["routed"]
    assert len(routed) == 12  # 2 workers x 3 pairs held by the other x 2 views
    for view, pair, status, body in routed:
        assert status == 200, (view, pair, body)
        assert body["pair_id"] == pair
        if view == "pairs":  # the owner's state came back through the forwarding worker
            assert set(body["quotes"]) == {"kalshi", "polymarket"}, json.dumps(body)[:500]
