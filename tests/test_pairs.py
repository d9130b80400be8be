import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from echoarb.cli import main
from echoarb.pairs import PairsConfigError, load_pairs, parse_pairs

SEED = {
    "pairs": [
        {
            "id": "fed-rate-march",
            "description": "Fed cuts in March",
            "kalshi": {"ticker": "FED-25MAR-T4.75"},
            "polymarket": {"token_id": "111", "no_token_id": "222", "fee_rate": "0.04"},
            "manifold": {"slug": "will-fed-cut-rates-march"},
        }
    ]
}


def test_seed_format_loads_unchanged() -> None:
    config = parse_pairs(SEED)
    pair = config.pairs[0]
    assert pair.id == "fed-rate-march" and pair.type == "binary"
    refs = {ref.venue: ref for ref in pair.venues}
    assert refs["kalshi"].instrument == "FED-25MAR-T4.75"
    assert refs["polymarket"].no_instrument == "222"
    assert refs["polymarket"].fee_rate == Decimal("0.04")
    assert refs["manifold"].instrument == "will-fed-cut-rates-march"
    assert parse_pairs(config.to_json()) == config


def test_fee_exponent() -> None:
    raw = json.loads(json.dumps(SEED))
    assert {ref.venue: ref.fee_exponent for ref in parse_pairs(raw).pairs[0].venues} == {
        "kalshi": 1,
        "polymarket": 1,
        "manifold": 1,
    }
    for given in (2, "2", 2.0):
        raw["pairs"][0]["polymarket"]["fee_exponent"] = given
        config = parse_pairs(raw)
        refs = {ref.venue: ref for ref in config.pairs[0].venues}
        assert refs["polymarket"].fee_exponent == 2
        assert config.to_json()["pairs"][0]["polymarket"]["fee_exponent"] == 2
        assert parse_pairs(config.to_json()) == config


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p["kalshi"].update(tickr="x"), "pair 'fed-rate-march': unknown key kalshi.tickr"),
        (lambda p: p.update(colour="red"), "pair 'fed-rate-march': unknown key 'colour'"),
        (lambda p: p["polymarket"].update(fee_rate="lots"), "polymarket.fee_rate must be a number"),
        (lambda p: p["kalshi"].pop("ticker"), "key kalshi.ticker must be a non-empty string"),
        (lambda p: (p.pop("kalshi"), p.pop("polymarket")), "needs at least two venues"),
        (lambda p: p["manifold"].update(invert="yes"), "manifold.invert must be true or false"),
        (
            lambda p: p["polymarket"].update(fee_exponent=1.5),
            "polymarket.fee_exponent must be a whole number",
        ),
        (lambda p: p["polymarket"].update(fee_exponent=0), "polymarket.fee_exponent must be a whole number"),
        (
            lambda p: p["polymarket"].update(fee_exponent=True),
            "polymarket.fee_exponent must be a whole number",
        ),
        (lambda p: p["kalshi"].update(fee_exponent=2), "unknown key kalshi.fee_exponent"),
    ],
)
def test_bad_config_names_pair_and_key(mutate: Callable[[dict[str, Any]], object], message: str) -> None:
    raw = json.loads(json.dumps(SEED))
    mutate(raw["pairs"][0])
    with pytest.raises(PairsConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_pairs(raw)


def test_categorical_pair() -> None:
    raw = {
        "pairs": [
            {
                "id": "cat",
                "type": "categorical",
                "exhaustive": True,
                "outcomes": [
                    {"name": "A", "kalshi": {"ticker": "K-A"}, "polymarket": {"token_id": "1"}},
                    {"name": "B", "kalshi": {"ticker": "K-B"}},
                ],
            }
        ]
    }
    pair = parse_pairs(raw).pairs[0]
    assert pair.exhaustive and [o.name for o in pair.outcomes] == ["A", "B"]
    assert sorted(pair.venue_names) == ["kalshi", "polymarket"]


def test_check_config_cli_exits_non_zero_with_pair_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = json.loads(json.dumps(SEED))
    bad["pairs"][0]["polymarket"]["token"] = "x"
    path = tmp_path / "pairs.json"
    path.write_text(json.dumps(bad))
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "fed-rate-march" in err and "polymarket.token" in err


def test_bundled_pairs_file_is_valid() -> None:
    config = load_pairs("config/market_pairs.json")
    assert {v for p in config.pairs for v in p.venue_names} == {"kalshi", "polymarket", "manifold"}
