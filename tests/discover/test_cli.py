"""``echoarb discover`` end to end: a real process against the recorded bodies on a local HTTP server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from echoarb.pairs import load_pairs
from tests.discover import server as listing_server

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "market_pairs.json"


async def _run(args: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "echoarb",
        "discover",
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _env(tmp_path: Path, base: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KALSHI", "POLYMARKET", "MANIFOLD", "DISCOVER"))
    }
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        KALSHI_API_URL=f"{base}/kalshi",
        POLYMARKET_GAMMA_URL=f"{base}/polymarket",
        MANIFOLD_API_URL=f"{base}/manifold",
        DISCOVER_RETRIES="1",
        RECONNECT_BACKOFF_BASE_S="0.01",
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    return env


async def test_out_writes_a_pairs_file_then_offline_reuses_the_cache(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.json"
    pairs.write_text(EXAMPLE.read_text())
    async with listing_server.serve() as srv:
        env = _env(tmp_path, srv.base)
        out_file = tmp_path / "pairs.suggested.json"
        code, out, err = await _run(
            ["--min-score", "0.7", "--out", str(out_file), "--pairs", str(pairs)], env, tmp_path
        )
        assert code == 0, err
        assert "listing kalshi: 3 open markets, fetched 0s ago" in err
        assert "listing polymarket: 3 open markets" in err and "listing manifold: 1 open markets" in err
        assert "not understood: kalshi market ?: missing field 'ticker'" in err
        config = load_pairs(out_file)
        (pair,) = config.pairs  # the recorded Kalshi BTC market and the recorded Manifold one
        refs = {r.venue: r for r in pair.venues}
        assert (
            refs["kalshi"].instrument == "KXBTCD-26JUN30-T100000" and str(refs["kalshi"].fee_rate) == "0.07"
        )
        assert refs["manifold"].instrument == "will-bitcoin-be-above-100000-on-june-30-2026"
        assert (tmp_path / "pairs.suggested.evidence.json").exists()
        assert f"wrote 1 pairs to {out_file}" in out

        requests = len(srv.requests)
        code, out, err = await _run(["--offline", "--min-score", "0.7", "--pairs", str(pairs)], env, tmp_path)
        assert code == 0, err
        assert len(srv.requests) == requests  # the cache answered
        assert "KXBTCD-26JUN30-T100000" in out and "fetched" in err


async def test_interactive_merges_after_a_backup(tmp_path: Path) -> None:
    pairs = tmp_path / "market_pairs.json"
    original = json.loads(EXAMPLE.read_text())
    original["pairs"] = [p for p in original["pairs"] if p["id"] != "btc-100k-june"]  # free the ticker
    pairs.write_text(json.dumps(original))
    async with listing_server.serve() as srv:
        env = _env(tmp_path, srv.base)
        code, out, err = await _run(
            ["--interactive", "--min-score", "0.7", "--pairs", str(pairs)], env, tmp_path, stdin="y\n"
        )
    assert code == 0, err
    assert (
        "rules, side by side:" in out
        and "merged 1 pairs into" in out
        and "backup of the previous file" in out
    )
    merged = json.loads(pairs.read_text())["pairs"]
    assert merged[:-1] == original["pairs"] and merged[-1]["kalshi"]["ticker"] == "KXBTCD-26JUN30-T100000"
    assert list(tmp_path.glob("market_pairs.json.bak-*"))
    accepted = json.loads((tmp_path / "data" / "discover" / "accepted.json").read_text())
    assert merged[-1]["id"] in accepted


async def test_unreachable_venues_are_one_line_each_never_a_traceback(tmp_path: Path) -> None:
    env = _env(tmp_path, "http://127.0.0.1:9")
    code, _, err = await _run([], env, tmp_path)
    assert code == 2 and "Traceback" not in err
    assert "echoarb: error: need listings of at least two venues to match; have none" in err
    for venue in ("kalshi", "polymarket", "manifold"):
        assert f"echoarb: {venue}: http://127.0.0.1:9/{venue}/" in err
        assert err.count(f"http://127.0.0.1:9/{venue}/") == 1  # the reason once, not in progress too


async def test_check_names_every_problem_of_the_configured_pairs(tmp_path: Path) -> None:
    recorded = {r.id: r for r in listing_server.load("polymarket")}
    money_line = json.loads(recorded["markets-page-1"].body)[1]
    yes, no = json.loads(money_line["clobTokenIds"])
    pairs = tmp_path / "pairs.json"
    pairs.write_text(
        json.dumps(
            {
                "pairs": [
                    {
                        "id": "btc",
                        "kalshi": {"ticker": "KXBTCD-26JUN30-T100000"},
                        "manifold": {"slug": "gone"},
                    },
                    {
                        "id": "match",
                        "kalshi": {"ticker": "KXGONE-1"},
                        "polymarket": {"token_id": yes, "no_token_id": no},
                    },
                ]
            }
        )
    )
    baseline = tmp_path / "data" / "discover" / "accepted.json"
    baseline.parent.mkdir(parents=True)
    baseline.write_text(json.dumps({"btc": {"kalshi": {"rules_sha": "an older text"}}}))
    async with listing_server.serve() as srv:
        code, out, err = await _run(["--check", "--pairs", str(pairs)], _env(tmp_path, srv.base), tmp_path)
    assert code == 1, err
    lines = set(out.splitlines())
    assert "btc: manifold gone: slug no longer listed" in lines
    assert "btc: kalshi KXBTCD-26JUN30-T100000: rules text changed since the pair was accepted" in lines
    assert "match: kalshi KXGONE-1: ticker no longer listed" in lines
    assert f"match: polymarket {yes}: market is closed" in lines
    assert "checked 2 pairs (4 venue legs): 2 with problems" in lines


async def test_bad_arguments_get_one_line(tmp_path: Path) -> None:
    code, _, err = await _run(["--min-score", "2"], _env(tmp_path, "http://127.0.0.1:9"), tmp_path)
    assert code == 2 and "a score between 0 and 1" in err and "Traceback" not in err
    code, _, err = await _run(["--venues", "nasdaq"], _env(tmp_path, "http://127.0.0.1:9"), tmp_path)
    assert code == 2 and "comma-separated subset" in err


async def test_the_recorded_listing_server_runs_alone_for_a_try_without_network(tmp_path: Path) -> None:
    # The README's way to try discover offline: `python -m tests.discover.server`, then discover
    # with the variables it prints.
    env = _env(tmp_path, "http://127.0.0.1:9")
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.discover.server", env=env, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        line = (await asyncio.wait_for(server.stdout.readline(), timeout=60)).decode()
        exports = dict(item.split("=", 1) for item in line.split("export ", 1)[1].split(" (")[0].split())
        assert set(exports) == {"KALSHI_API_URL", "POLYMARKET_GAMMA_URL", "MANIFOLD_API_URL"}
        code, out, err = await _run(["--min-score", "0.7"], {**env, **exports}, tmp_path)
        assert code == 0, err
        assert "listing kalshi: 3 open markets" in err and "KXBTCD-26JUN30-T100000" in out
    finally:
        server.terminate()
        assert await asyncio.wait_for(server.wait(), timeout=30) == 0


async def test_check_against_the_market_simulator_finds_every_configured_token(tmp_path: Path) -> None:
    # `echoarb simulate --venue polymarket --market` lists each configured token in a two-token
    # market, as Gamma does: --check against it finds no problem.
    env = _env(tmp_path, "http://127.0.0.1:9")
    sim = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "echoarb",
        "simulate",
        "--venue",
        "polymarket",
        "--market",
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert sim.stdout is not None
        line = (await asyncio.wait_for(sim.stdout.readline(), timeout=60)).decode()
        gamma = line.split("POLYMARKET_GAMMA_URL=", 1)[1].split()[0]
        code, out, err = await _run(
            ["--check", "--venues", "polymarket"], {**env, "POLYMARKET_GAMMA_URL": gamma}, tmp_path
        )
        assert "polymarket: 3 open markets" in err and "Traceback" not in err
        polymarket = [line for line in out.splitlines() if ": polymarket " in line]
        assert polymarket == [], polymarket  # the other venues are "not checked" (exit 1)
        assert code == 1 and "not checked" in out
    finally:
        sim.terminate()
        assert await asyncio.wait_for(sim.wait(), timeout=30) == 0
