-- Raw ticks (SINK_TICKS=true): one row per tick of a TickBatch record. Retention is by
-- insertion time, not event time, so replaying an old recording keeps its ticks for the full
-- period. Partitioned by insertion day: every insert is one part (all-or-nothing) and expired
-- days are dropped whole.
CREATE TABLE IF NOT EXISTS `{database}`.`ticks` (
    `venue` LowCardinality(String),
    `pair_id` LowCardinality(String),
    `outcome` LowCardinality(String),
    `best_yes_ask` Nullable(Decimal(18, 6)),
    `best_no_ask` Nullable(Decimal(18, 6)),
    `yes_ask_price` Array(Decimal(18, 6)),
    `yes_ask_size` Array(Decimal(18, 6)),
    `no_ask_price` Array(Decimal(18, 6)),
    `no_ask_size` Array(Decimal(18, 6)),
    `fee_rate` Decimal(18, 6),
    `status` LowCardinality(String),
    `in_sync` Bool,
    `real_money` Bool,
    `seq` UInt64,
    `event_ts` DateTime64(3, 'UTC'),
    `recv_ts` DateTime64(3, 'UTC'),
    `producer_id` LowCardinality(String),
    `topic` LowCardinality(String),
    `partition` UInt16,
    `offset` UInt64,
    `index` UInt32,
    `inserted_at` DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(inserted_at)
ORDER BY (venue, pair_id, recv_ts)
TTL toDateTime(inserted_at) + INTERVAL 7 DAY
SETTINGS non_replicated_deduplication_window = 10000, ttl_only_drop_parts = 1;
