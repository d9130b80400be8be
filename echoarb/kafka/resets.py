"""Noticing that the Kafka cluster lost a consumer group's committed offsets.

A group's committed offsets only move forward, whoever holds the partitions. When a
consumer finds one lower than it knew (or none at all) the cluster has lost them: the
embedded broker keeps everything in memory, so a restart of it is an empty cluster on the
same address (topics recreated empty, offsets from 0, groups gone); on a real cluster the
same happens when the group's offsets expire or someone resets them. The consumer then
reads the partition again from where the group now starts, and says so in one line: what
was committed was processed (it is stored or published), what the old cluster held beyond
it was not and is gone with it.

Pure bookkeeping; the worker (``streams.faust_compat.Sequencer``) and the sink
(``echoarb.sink.commits``) each feed it the committed offsets they read on assignment.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

log = logging.getLogger("echoarb.kafka")


def went_back(known: int | None, found: int | None) -> bool:
    """Is ``found`` (the group's committed offset now; None = nothing) behind ``known``?"""
    return known is not None and known > 0 and (found is None or found < known)


def report(who: str, resets: Iterable[tuple[str, int, int | None, int | None]]) -> None:
    """One warning line for the (topic, partition, known, found) whose committed offsets went back."""
    items = list(resets)
    if not items:
        return
    shown = ", ".join(
        f"{topic}[{partition}] {old} -> {'none' if new is None else new}"
        for topic, partition, old, new in items[:8]
    )
    more = f" and {len(items) - 8} more" if len(items) > 8 else ""
    log.warning(
        "%s: committed offsets went back (%s%s): the Kafka cluster lost them (a restarted "
        "memory-only broker starts empty). Reading those partitions again from where the group now "
        "starts; what was committed was processed, records the old cluster held beyond it are gone with it",
        who,
        shown,
        more,
    )
