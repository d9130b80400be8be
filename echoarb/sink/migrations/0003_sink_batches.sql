-- The sink's batch ledger. Before inserting a batch the sink records its fixed boundaries
-- (topic, partition, first and last offset, Kafka timestamp of the first record); after a crash
-- it cuts the same batch again from this row, so the retried insert carries the same
-- deduplication token and ClickHouse drops it. Also feeds the pipeline-health dashboard.
CREATE TABLE IF NOT EXISTS `{database}`.`sink_batches` (
    `group_id` LowCardinality(String),
    `topic` LowCardinality(String),
    `partition` UInt16,
    `first_offset` UInt64,
    `last_offset` UInt64,
    `first_ts` DateTime64(3, 'UTC'),
    `records` UInt32,
    `rows` UInt32,
    `target` LowCardinality(String),
    `planned_at` DateTime64(3, 'UTC')
) ENGINE = MergeTree
ORDER BY (group_id, topic, `partition`, first_offset)
TTL toDateTime(planned_at) + INTERVAL 30 DAY;
