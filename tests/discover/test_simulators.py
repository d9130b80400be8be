"""``echoarb discover`` against the venue simulators (real sockets) finds the pairs they simulate.

The simulators run with the market model of ``config/market_pairs.json`` (as ``echoarb
simulate --market`` and ``echoarb up --simulate`` do) and answer the listing endpoints in
the venues' shapes: Kalshi ``/series`` and cursor-paged ``/markets``, Gamma ``/events`` and
``/markets`` by offset, Manifold ``/v0/search-markets``. A small page size makes every venue
page more than once.
"""

from __future__ import annotations

import json
import time
from itertools import combinations
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives.asymmetric import rsa

from echoarb.discover.fetch import Progress, Source, fetch_all
from echoarb.discover.kalshi import KalshiListing
from echoarb.discover.manifold import ManifoldListing
from echoarb.discover.model import VENUE_NAMES
from echoarb.discover.polymarket import PolymarketListing
from echoarb.pairs import load_pairs
from echoarb.services.stack import plan
from echoarb.settings import Settings
from echoarb.venues.kalshi.simulator import KalshiSimulator
from echoarb.venues.manifold.simulator import ManifoldSimulator
from echoarb.venues.market_model import MarketModel
from echoarb.venues.polymarket.simulator import PolymarketSimulator
from echoarb.venues.sim_listing import iso, resolve_s
from tests.discover import server as listing_server
from tests.discover.test_cli import EXAMPLE, _env, _run

Leg = tuple[str, str, bool]  # venue, instrument, invert


def _expected() -> set[frozenset[Leg]]:
    """Every two legs of every configured pair, inverted relative to the first (venue order)."""
    out: set[frozenset[Leg]] = set()
    for pair in load_pairs(EXAMPLE).pairs:
        refs = sorted(pair.venues, key=lambda r: VENUE_NAMES.index(r.venue))
        for a, b in combinations(refs, 2):
            out.add(
                frozenset({(a.venue, a.instrument, False), (b.venue, b.instrument, a.invert != b.invert)})
            )
    return out


async def test_discover_against_the_simulators_finds_the_simulated_pairs(tmp_path: Path) -> None:
    config = load_pairs(EXAMPLE)
    model = MarketModel(config, seed=7)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    async with (
        KalshiSimulator(key, model=model) as kalshi,
        PolymarketSimulator(model=model) as poly,
        ManifoldSimulator(model=model) as mani,
    ):
        env = _env(tmp_path, "")
        env.update(
            KALSHI_API_URL=f"{kalshi.http_url}/trade-api/v2",
            POLYMARKET_GAMMA_URL=poly.http_url,
            MANIFOLD_API_URL=mani.api_url,
        )
        out_file = tmp_path / "suggested.json"
        empty = tmp_path / "none.json"
        empty.write_text('{"pairs": []}')
        code, out, err = await _run(
            ["--out", str(out_file), "--pairs", str(empty), "--max-pages", "50"], env, tmp_path
        )
        assert code == 0, err
        assert f"wrote 6 pairs to {out_file}" in out
        assert "listing kalshi: 4 open markets" in err and "listing polymarket: 3 open markets" in err
        assert "listing manifold: 2 open markets" in err
        # The venues' listing endpoints were asked, with their paging parameters.
        assert any(r.startswith("/trade-api/v2/series") for r in kalshi.rest_requests)
        assert any("/trade-api/v2/markets?status=open" in r for r in kalshi.rest_requests)
        assert any(r.startswith("/events?closed=false") for r in poly.rest_requests)
        assert "/v0/search-markets" in mani.rest_requests

        cache = json.loads((tmp_path / "data" / "discover" / "listing.json").read_text())
    found = {
        frozenset((ref.venue, ref.instrument, ref.invert) for ref in pair.venues)
        for pair in load_pairs(out_file).pairs
    }
    assert found == _expected(), json.dumps(json.loads(out_file.read_text()), indent=1)
    suggested = {p.id: p for p in load_pairs(out_file).pairs}
    btc = next(
        p for p in suggested.values() if any(r.instrument == "KXBTCD-26JUN30-T100000" for r in p.venues)
    )
    poly_ref = next(r for r in btc.venues if r.venue == "polymarket")
    assert str(poly_ref.fee_rate) == "0.07"  # from the simulated market's feeSchedule
    # The listing cache (what serve and top read resolution times from) has the simulated dates,
    # the same for every leg of a pair.
    entries = {e["id"]: e for section in cache["venues"].values() for e in section["entries"]}
    now = time.time()
    fed = {resolve_s(7, "fed-rate-march", now) * 1000, resolve_s(7, "fed-rate-march", now - 86_400) * 1000}
    assert entries["FED-25MAR-T4.75"]["resolve_ms"] in fed
    poly_fed = next(
        e for e in entries.values() if e["venue"] == "polymarket" and e["slug"] == "fed-rate-march"
    )
    assert poly_fed["resolve_ms"] == entries["FED-25MAR-T4.75"]["resolve_ms"]

    # Pointed back at the (recorded) venues, the simulators' young cache is not reused.
    async with listing_server.serve() as srv:
        env.update(_env(tmp_path, srv.base))
        code, _, err = await _run(["--pairs", str(empty)], env, tmp_path)
        assert code == 0, err
        assert "listing kalshi: 3 open markets, fetched 0s ago" in err
        assert any(r.startswith("kalshi/markets") for r in srv.requests)


async def test_every_venue_simulator_pages_its_listing(tmp_path: Path) -> None:
    """Small pages: Kalshi follows its cursor, Gamma and Manifold their offsets, to the same markets."""
    model = MarketModel(load_pairs(EXAMPLE), seed=7)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    async with (
        KalshiSimulator(key, model=model) as kalshi,
        PolymarketSimulator(model=model) as poly,
        ManifoldSimulator(model=model) as mani,
    ):
        sources = [
            Source(KalshiListing(page_size=3), f"{kalshi.http_url}/trade-api/v2", 6000),
            Source(PolymarketListing(page_size=2, events_page_size=1), poly.http_url, 6000),
            Source(ManifoldListing(page_size=1), mani.api_url, 6000),
        ]
        results = {r.venue: r for r in await fetch_all(sources, progress=Progress(enabled=False))}
        cursors = [r for r in kalshi.rest_requests if "cursor=" in r]
        bad = await _status(f"{kalshi.http_url}/trade-api/v2/markets?status=open&cursor=garbage")
    assert all(r.failure is None and not r.errors for r in results.values()), results
    assert {e.id for e in results["kalshi"].entries} == {
        "FED-25MAR-T4.75",
        "PRES-2028-D",
        "KXBTCD-26JUN30-T100000",
        "KXRECSSNBER-26",
    }
    assert results["kalshi"].pages == 2 and len(cursors) == 1  # 3 + 1 markets: one cursor followed
    assert bad == 400
    poly_entries = {e.outcomes[0].instrument: e for e in results["polymarket"].entries}
    assert (
        len(poly_entries) == 3 and results["polymarket"].pages >= 5
    )  # 3 + 1 event pages, 2 + 1 market pages
    pres = poly_entries["28421423073849383819533569745033662166513266729299781817052054341141278697589"]
    assert pres.outcomes[1].instrument.startswith("4673581180762279")  # the configured NO token
    assert pres.event == "pres-2028-dem" and not pres.neg_risk and not pres.neg_risk_augmented
    assert {e.slug for e in results["manifold"].entries} == {
        "will-fed-cut-rates-march",
        "will-the-us-enter-a-recession-in-2026",
    }
    assert results["manifold"].pages == 3  # 1 + 1 + the empty page that ends offset paging


async def _status(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status


def test_up_simulate_hands_the_simulators_rest_urls_to_discover(tmp_path: Path) -> None:
    """``echoarb up --simulate`` announces these (the same URLs ingest gets) for ``echoarb discover``."""
    stack = plan(Settings(data_dir=tmp_path), "127.0.0.1:9092", True, simulate=True)
    ingest = next(p for p in stack.parts if p.name == "ingest")
    assert set(stack.discover_env) == {"KALSHI_API_URL", "POLYMARKET_GAMMA_URL", "MANIFOLD_API_URL"}
    assert all(ingest.env[name] == url for name, url in stack.discover_env.items())
    assert stack.discover_env["KALSHI_API_URL"].endswith("/trade-api/v2")


async def test_polymarket_lookup_by_token_agrees_with_the_listing() -> None:
    """``/markets?clob_token_ids=`` (ingest, ``discover --check``) answers the listed two-token market."""
    model = MarketModel(load_pairs(EXAMPLE), seed=7)
    async with PolymarketSimulator(model=model) as poly:
        listed = {m.instrument: m for m in poly.listed}
        btc = "51583272702709398851526363019165398878126948683048952387032094150633815882485"
        no = listed[btc].no_instrument  # the config names no NO token: a made-up one
        url = f"{poly.http_url}/markets"
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, params={"clob_token_ids": no}) as response,
        ):
            (market,) = await response.json()
    assert json.loads(market["clobTokenIds"]) == [btc, no]
    assert market["endDate"] == iso(listed[btc].resolve_s)
