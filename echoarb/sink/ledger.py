"""The batch ledger (``sink_batches``): boundaries recorded before insert, read back after a restart.

See ``batches.py`` for why. Blocking calls; run them in a thread from async code.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiokafka import TopicPartition

from echoarb.sink.batches import Batch, Plan
from echoarb.sink.client import check_identifier
from echoarb.sink.schema import BATCH_COLUMNS, BATCHES_TABLE, STAGING_BY_TABLE
from echoarb.sink.writer import insert_columns

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


def record(client: Client, database: str, group_id: str, batches: Sequence[Batch]) -> None:
    """One insert for all ``batches`` of a flush (before any of them is inserted).

    ``via`` records the staging table each batch goes through, for operators reading the ledger.
    """
    if not batches:
        return
    now_ms = int(time.time() * 1000)
    rows = [
        (
            group_id,
            b.tp.topic,
            b.tp.partition,
            b.first_offset,
            b.last_offset,
            b.first_ts,
            len(b.records),
            b.row_count,
            b.table,
            now_ms,
            STAGING_BY_TABLE[b.table],
        )
        for b in batches
    ]
    insert_columns(client, database, BATCHES_TABLE, rows, BATCH_COLUMNS)


def lookup(
    client: Client, database: str, group_id: str, heads: Sequence[tuple[TopicPartition, int, int]]
) -> dict[TopicPartition, Plan]:
    """The recorded batch starting at each (partition, first offset, first timestamp), if any.

    The Kafka timestamp must match too: a batch recorded for an earlier incarnation of a topic
    with the same name (offsets restart at 0) is not this batch.
    """
    if not heads:
        return {}
    keys = [(tp.topic, tp.partition, offset) for tp, offset, _ in heads]
    result = client.query(
        f"SELECT topic, partition, first_offset, toUnixTimestamp64Milli(first_ts), "
        f"argMax(last_offset, planned_at) "
        f"FROM `{check_identifier(database)}`.`{BATCHES_TABLE}` "
        "WHERE group_id = {group:String} "
        "AND (topic, partition, first_offset) IN {keys:Array(Tuple(String, UInt16, UInt64))} "
        "GROUP BY topic, partition, first_offset, first_ts",
        parameters={"group": group_id, "keys": keys},
    )
    wanted = {(tp.topic, tp.partition, offset): (tp, ts) for tp, offset, ts in heads}
    plans: dict[TopicPartition, Plan] = {}
    for topic, partition, first_offset, first_ts, last_offset in result.result_rows:
        tp, ts = wanted[(topic, int(partition), int(first_offset))]
        if int(first_ts) == ts:
            plans[tp] = Plan(int(first_offset), int(last_offset), ts)
    return plans
