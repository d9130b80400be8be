"""Every ``echoarb`` subcommand's ``--help`` says what it does, its defaults and an example."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from echoarb.cli.main import build_parser

pytestmark = pytest.mark.unit


def commands(
    parser: argparse.ArgumentParser, path: str = "echoarb"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """(name, parser) of every command that runs something (the leaves of the subcommand tree)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for action in subs:
        for name, child in action.choices.items():
            yield from commands(child, f"{path} {name}")


LEAVES = dict(commands(build_parser()))


def test_every_command_is_found() -> None:
    assert {"echoarb replay", "echoarb up", "echoarb db migrate", "echoarb topics check"} <= set(LEAVES)
    assert len(LEAVES) >= 17


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_help_says_what_it_does_and_shows_an_example(name: str) -> None:
    parser = LEAVES[name]
    text = parser.format_help()
    assert parser.description and len(parser.description) > 40, f"{name}: no description"
    assert "examples:" in text or "example:" in text, f"{name}: no example"
    example = text.split("example", 1)[1]
    assert name in example, f"{name}: the examples do not run {name}"
    assert max(len(line) for line in text.splitlines()) <= 110, f"{name}: unwrapped line"


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_every_option_with_a_default_says_it(name: str) -> None:
    parser = LEAVES[name]
    for action in parser._actions:
        if not action.option_strings or action.help is None or action.help == argparse.SUPPRESS:
            continue
        if action.default in (None, False, argparse.SUPPRESS) or action.required:
            continue
        assert "default" in action.help or "%(default)" in action.help, (
            f"{name} {action.option_strings[0]}: default {action.default!r} not in its help"
        )
