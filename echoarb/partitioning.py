"""Which partition a market pair lives on: Kafka's default murmur2 partitioner.

Tick topics, spread topics and table changelogs all use it on the pair id, so a pair's
ticks, state and spread events share one partition number (co-partitioning).
"""

from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import murmur2

from echoarb.pairs import PairsConfig


@lru_cache(maxsize=65536)
def partition_for(pair_id: str, partitions: int) -> int:
    """Same result as the Java client's (and aiokafka's) default partitioner for this key."""
    return int(murmur2(pair_id.encode()) & 0x7FFFFFFF) % partitions


def venue_streams(pairs: PairsConfig, partitions: int) -> dict[int, frozenset[str]]:
    """Partition -> venues that have at least one pair on it (the streams a merge waits for)."""
    streams: dict[int, set[str]] = {}
    for pair in pairs.pairs:
        streams.setdefault(partition_for(pair.id, partitions), set()).update(pair.venue_names)
    return {partition: frozenset(venues) for partition, venues in streams.items()}
