"""The fee settings reach the engine: Settings -> ScanParams -> scanner, pairs file -> exponent."""

from decimal import Decimal as D

from echoarb.model import Level, Tick
from echoarb.pairs import parse_pairs
from echoarb.scan.edge.fees import FeePolicy
from echoarb.scan.scanner import PartitionScanner, ScanParams, scan_params
from echoarb.settings import Settings


def _pairs(exponent: int = 1) -> dict[str, object]:
    poly: dict[str, object] = {"token_id": "1", "no_token_id": "2", "fee_rate": "0.25"}
    if exponent != 1:
        poly["fee_exponent"] = exponent
    return {"pairs": [{"id": "p", "kalshi": {"ticker": "K"}, "polymarket": poly}]}


def _ticks() -> list[Tick]:
    # Kalshi YES 0.30 x1 and 0.31 x1 (fees 0.0147 + 0.014973), Polymarket NO 0.50 x2.
    kalshi = Tick("p", "kalshi", (Level(D("0.30"), D(1)), Level(D("0.31"), D(1))), (), 1, 1, D("0.07"), seq=1)
    poly = Tick("p", "polymarket", (), (Level(D("0.50"), D(2)),), 2, 2, D("0.25"), seq=1)
    return [kalshi, poly]


def _fees(params: ScanParams, exponent: int = 1) -> D:
    scanner = PartitionScanner(parse_pairs(_pairs(exponent)).by_id(), params)
    out = [opp for tick in _ticks() for opp in scanner.apply(tick)]
    (opp,) = [o for o in out if o.size]
    return opp.fees


def test_settings_reach_scan_params() -> None:
    assert scan_params(Settings(_env_file=None)).fees == FeePolicy("order", D("0.01"))
    settings = Settings(
        _env_file=None, kalshi_fee_rounding="per_fill_cent", kalshi_account_precision=D("0.0001")
    )
    assert scan_params(settings).fees == FeePolicy("per_fill_cent", D("0.0001"))


def test_policy_and_exponent_reach_the_walk() -> None:
    # Polymarket: 2 at 0.50, rate 0.25: 0.125 (exponent 1) or 2 * 0.25 * 0.0625 = 0.03125 -> 0.0313.
    assert _fees(ScanParams()) == D("0.03") + D("0.125")  # Kalshi ceil_cent(0.61 + 0.0297) - 0.61
    assert _fees(ScanParams(fees=FeePolicy("per_fill_cent"))) == D("0.04") + D("0.125")
    assert _fees(ScanParams(fees=FeePolicy("order", D("0.0001")))) == D("0.0297") + D("0.125")
    assert _fees(ScanParams(), exponent=2) == D("0.03") + D("0.0313")
