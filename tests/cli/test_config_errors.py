"""Every bad setting and every bad pairs file: one line naming the problem, exit code 2."""

from __future__ import annotations

import copy
import json
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from echoarb.cli import main
from echoarb.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _bad_values(name: str) -> list[str]:
    """Values of the field's environment variable that its type or bounds must refuse."""
    field = Settings.model_fields[name]
    annotation = field.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return ["bogus"]
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = args[0] if args else annotation
    bad: list[str] = []
    if base is bool:
        bad.append("maybe")
    elif base in (int, float, Decimal):
        bad.append("not-a-number")
        for rule in field.metadata:
            for attr, off in (("ge", -1), ("gt", 0), ("le", 1), ("lt", 0)):
                bound = getattr(rule, attr, None)
                if bound is not None:
                    bad.append(str(bound + off) if attr in ("ge", "le") else str(bound))
    return bad


CASES = [(name, value) for name in Settings.model_fields for value in _bad_values(name)]


def test_the_cases_cover_every_typed_field() -> None:
    typed = {name for name, _ in CASES}
    assert {
        "partitions",
        "min_edge",
        "processing_guarantee",
        "sink_ticks",
        "worker_web_port",
        "log_level",
    } <= typed
    assert len(CASES) > 60


def env_name(name: str) -> str:
    alias = Settings.model_fields[name].validation_alias
    return alias if isinstance(alias, str) else name.upper()


@pytest.mark.chaos("every bad setting", "one line naming the variable, exit 2")
@pytest.mark.parametrize(("name", "value"), CASES, ids=[f"{n}={v}" for n, v in CASES])
def test_bad_setting_is_one_line_and_exit_2(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(env_name(name), value)
    assert main(["check-config"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("echoarb: error: invalid settings:")
    assert env_name(name).upper() in err[0]


def _valid() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "config" / "market_pairs.json").read_text())
    return data


def _mutations() -> list[tuple[str, Any, str]]:
    """(case id, broken config, text the error must contain)."""
    out: list[tuple[str, Any, str]] = [
        ("not-an-object", [], "expected an object"),
        ("no-pairs", {"pairs": []}, "no pairs configured"),
        ("top-level-key", {**_valid(), "extra": 1}, "unknown top-level key 'extra'"),
    ]

    def pair0(change: Any) -> dict[str, Any]:
        data = copy.deepcopy(_valid())
        change(data["pairs"][0])
        return data

    out += [
        ("pair-not-object", {"pairs": [1]}, "pair #0: expected an object"),
        ("id-missing", pair0(lambda p: p.pop("id")), "pair #0: key 'id'"),
        ("id-blank", pair0(lambda p: p.update(id=" ")), "pair #0: key 'id'"),
        ("description-type", pair0(lambda p: p.update(description=3)), "key 'description'"),
        ("unknown-key", pair0(lambda p: p.update(colour="red")), "unknown key 'colour'"),
        ("type", pair0(lambda p: p.update(type="ternary")), "key 'type'"),
        ("one-venue", pair0(lambda p: [p.pop("polymarket"), p.pop("manifold")]), "at least two venues"),
        ("venue-not-object", pair0(lambda p: p.update(kalshi="FED")), "key 'kalshi' must be an object"),
        ("venue-unknown-key", pair0(lambda p: p["kalshi"].update(tick=1)), "unknown key kalshi.tick"),
        ("ticker-missing", pair0(lambda p: p["kalshi"].pop("ticker")), "kalshi.ticker"),
        ("token-blank", pair0(lambda p: p["polymarket"].update(token_id="")), "polymarket.token_id"),
        ("no-token", pair0(lambda p: p["polymarket"].update(no_token_id=5)), "polymarket.no_token_id"),
        ("invert-type", pair0(lambda p: p["kalshi"].update(invert="yes")), "kalshi.invert"),
        ("fee-high", pair0(lambda p: p["polymarket"].update(fee_rate="1.5")), "polymarket.fee_rate"),
        ("fee-text", pair0(lambda p: p["polymarket"].update(fee_rate="x")), "polymarket.fee_rate"),
        ("fee-bool", pair0(lambda p: p["kalshi"].update(fee_rate=True)), "kalshi.fee_rate"),
        ("slug-missing", pair0(lambda p: p["manifold"].pop("slug")), "manifold.slug"),
        ("binary-outcomes", pair0(lambda p: p.update(outcomes=[])), "only valid with"),
    ]
    dup = copy.deepcopy(_valid())
    dup["pairs"].append(copy.deepcopy(dup["pairs"][0]))
    out.append(("duplicate-id", dup, "duplicate id"))
    cat: dict[str, Any] = {
        "id": "c",
        "type": "categorical",
        "outcomes": [{"name": "a", "kalshi": {"ticker": "A"}}],
    }
    out += [
        ("categorical-one-outcome", {"pairs": [cat]}, "at least two outcomes"),
        (
            "categorical-exhaustive",
            {"pairs": [{**cat, "exhaustive": "yes", "outcomes": [*cat["outcomes"], *cat["outcomes"]]}]},
            "key 'exhaustive'",
        ),
        (
            "categorical-venue-outside",
            {"pairs": [{**cat, "outcomes": [*cat["outcomes"], *cat["outcomes"]], "kalshi": {"ticker": "A"}}]},
            "inside each outcome",
        ),
        (
            "outcome-name",
            {"pairs": [{**cat, "outcomes": [{"kalshi": {"ticker": "A"}}] * 2}]},
            "needs a string 'name'",
        ),
        (
            "outcome-no-venue",
            {"pairs": [{**cat, "outcomes": [{"name": "a"}, {"name": "b"}]}]},
            "needs at least one venue",
        ),
    ]
    return out


MUTATIONS = _mutations()


@pytest.mark.chaos("every bad pairs-file rule", "one line naming the pair and key, exit 2")
@pytest.mark.parametrize(
    ("config", "needle"), [(c, n) for _, c, n in MUTATIONS], ids=[i for i, _, _ in MUTATIONS]
)
def test_bad_pairs_file_is_one_line_and_exit_2(
    config: Any, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pairs.json"
    path.write_text(json.dumps(config))
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"echoarb: error: {path}:"), err[0]
    assert needle in err[0], err[0]


@pytest.mark.parametrize(
    ("text", "needle"), [("{not json", "not valid JSON"), (None, "file not found")], ids=["json", "missing"]
)
def test_unreadable_pairs_file(
    text: str | None, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pairs.json"
    if text is not None:
        path.write_text(text)
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


def test_a_pairs_path_that_is_a_directory_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("echoarb: error:") and "cannot read it" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("flag", ["--minutes", "--limit"])
def test_top_refuses_a_count_below_one_before_querying(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["top", flag, "-5"])
    assert exc.value.code == 2 and "must be at least 1" in capsys.readouterr().err


def test_up_with_the_board_port_taken_fails_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["up", "--simulate", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot serve the board on 127.0.0.1:{port}" in err and "--port 0" in err
    assert not (tmp_path / "data" / "logs").exists()  # no broker, no part was started
