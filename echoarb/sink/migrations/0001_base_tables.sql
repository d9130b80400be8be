-- Spread events and window statistics, exactly as the sink created them before migrations
-- existed (IF NOT EXISTS adopts such tables). Money is Decimal(18, 6): Avro micros x 1e-6.
-- No PARTITION BY: one insert is one part, so an insert is all-or-nothing.
CREATE TABLE IF NOT EXISTS `{database}`.`spreads` (
    `id` String,
    `pair_id` LowCardinality(String),
    `kind` LowCardinality(String),
    `leg_venue` Array(LowCardinality(String)),
    `leg_side` Array(LowCardinality(String)),
    `leg_outcome` Array(String),
    `leg_best_price` Array(Nullable(Decimal(18, 6))),
    `leg_avg_price` Array(Nullable(Decimal(18, 6))),
    `leg_size` Array(Decimal(18, 6)),
    `gross_edge` Nullable(Decimal(18, 6)),
    `size` Decimal(18, 6),
    `cost` Decimal(18, 6),
    `fees` Decimal(18, 6),
    `net_profit` Decimal(18, 6),
    `net_edge` Decimal(18, 6),
    `executable` Bool,
    `quote_age_ms` UInt64,
    `event_ts` DateTime64(3, 'UTC'),
    `computed_at` DateTime64(3, 'UTC'),
    `topic` LowCardinality(String),
    `partition` UInt16,
    `offset` UInt64
) ENGINE = MergeTree
ORDER BY (pair_id, event_ts, id);

CREATE TABLE IF NOT EXISTS `{database}`.`spread_windows` (
    `pair_id` LowCardinality(String),
    `window` LowCardinality(String),
    `window_start` DateTime64(3, 'UTC'),
    `window_end` DateTime64(3, 'UTC'),
    `events` UInt64,
    `max_net_edge` Nullable(Decimal(18, 6)),
    `best_size` Decimal(18, 6),
    `executable_ms` UInt64,
    `emitted_at` DateTime64(3, 'UTC'),
    `topic` LowCardinality(String),
    `partition` UInt16,
    `offset` UInt64
) ENGINE = MergeTree
ORDER BY (pair_id, `window`, window_start);
