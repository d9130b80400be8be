"""Every schema in ``schemas/`` stays backward compatible with the last released one.

Records written by the released version sit in Kafka topics (and replays) when a new version
starts, so the new schemas must read them: Apache Avro's own compatibility checker
(``avro.compatibility``) compares each current schema, as reader, with the released schema
of the same name, as writer. The released schemas are frozen copies in
``schemas/released/<version>/``; a release adds a folder and moves ``RELEASED`` on.
fastavro stays on the hot path; this check is what the ``avro`` package is here for.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from echoarb.wire.codec import load_schema_json

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
RELEASED = "0.1.0"
RELEASED_SCHEMAS = SCHEMAS / "released" / RELEASED


def _manifest(schemas_dir: Path) -> dict[str, Any]:
    entries: dict[str, Any] = json.loads((schemas_dir / "manifest.json").read_text())["schemas"]
    return entries


def backward_problems(reader: dict[str, Any], writer: dict[str, Any]) -> list[str]:
    """Why ``reader`` cannot read data written with ``writer`` (empty when it can)."""
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(
        reader=avro.schema.parse(json.dumps(reader)), writer=avro.schema.parse(json.dumps(writer))
    )
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    kinds = ", ".join(sorted({kind.name for kind in result.incompatibilities}))
    where = ", ".join(sorted(result.locations))
    return [f"{kinds} at {where}: {', '.join(sorted(result.messages))}"]


def test_released_schemas_are_a_complete_release() -> None:
    released = _manifest(RELEASED_SCHEMAS)
    assert released, "no released schemas"
    for name, entry in released.items():
        assert (RELEASED_SCHEMAS / entry["file"]).is_file(), (name, entry)


@pytest.mark.parametrize("name", sorted(_manifest(RELEASED_SCHEMAS)))
def test_released_schema_is_still_there_with_the_same_id(name: str) -> None:
    """A released schema may evolve but never disappear or change its id (consumers key on it)."""
    current = _manifest(SCHEMAS)
    assert name in current, f"{name} was released in {RELEASED} and is gone from schemas/manifest.json"
    assert current[name]["id"] == _manifest(RELEASED_SCHEMAS)[name]["id"]


@pytest.mark.parametrize("name", sorted(_manifest(SCHEMAS)))
def test_current_schema_reads_what_the_release_wrote(name: str) -> None:
    current = load_schema_json(name, SCHEMAS)
    if name not in _manifest(RELEASED_SCHEMAS):
        # New since the release: nothing was written with an older version. It must parse.
        avro.schema.parse(json.dumps(current))
        return
    released = load_schema_json(name, RELEASED_SCHEMAS)
    assert backward_problems(current, released) == [], f"{name} breaks readers of {RELEASED} data"


def test_ids_are_never_reused() -> None:
    ids = [entry["id"] for entry in _manifest(SCHEMAS).values()]
    assert len(ids) == len(set(ids)), ids


# The checker itself must catch the changes that would break a reader of old data.
Schema = dict[str, Any]


def _add_required_field(s: Schema) -> Schema:
    return {**s, "fields": [*s["fields"], {"name": "fee_tier", "type": "string"}]}


def _add_optional_field(s: Schema) -> Schema:
    return {**s, "fields": [*s["fields"], {"name": "fee_tier", "type": "string", "default": ""}]}


def _remove_field(s: Schema) -> Schema:
    return {**s, "fields": [f for f in s["fields"] if f["name"] != "seq"]}


def _narrow_long_to_int(s: Schema) -> Schema:
    return {**s, "fields": [{**f, "type": "int"} if f["name"] == "seq" else f for f in s["fields"]]}


def _drop_enum_symbol(s: Schema) -> Schema:
    def narrowed(f: dict[str, Any]) -> dict[str, Any]:
        return {**f, "type": {**f["type"], "symbols": ["open", "closed"]}} if f["name"] == "status" else f

    return {**s, "fields": [narrowed(f) for f in s["fields"]]}


@pytest.mark.parametrize(
    ("change", "breaks"),
    [
        (_add_required_field, True),
        (_add_optional_field, False),
        (_remove_field, False),
        (_narrow_long_to_int, True),
        (_drop_enum_symbol, True),
    ],
)
def test_the_check_fails_on_an_incompatible_change(change: Callable[[Schema], Schema], breaks: bool) -> None:
    released = load_schema_json("io.echoarb.Tick", RELEASED_SCHEMAS)
    problems = backward_problems(change(copy.deepcopy(released)), released)
    assert bool(problems) is breaks, problems
