-- Per-minute, per-pair statistics, maintained by two materialized views at insert time:
-- from spread events (events, best net edge of any sized event, largest executable size) and
-- from tumbling windows (milliseconds during which the pair was executable, as the worker
-- measured it in event time). Query with max()/sum() GROUP BY pair_id, minute.
-- The deduplication window also applies here: a retried insert must not count twice.
CREATE TABLE IF NOT EXISTS `{database}`.`pair_minute_stats` (
    `pair_id` LowCardinality(String),
    `minute` DateTime64(3, 'UTC'),
    `events` SimpleAggregateFunction(sum, UInt64),
    `executable_events` SimpleAggregateFunction(sum, UInt64),
    `max_net_edge` SimpleAggregateFunction(max, Nullable(Decimal(18, 6))),
    `best_size` SimpleAggregateFunction(max, Decimal(18, 6)),
    `executable_ms` SimpleAggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree
ORDER BY (pair_id, minute)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS `{database}`.`pair_minute_stats_spreads_mv`
TO `{database}`.`pair_minute_stats` AS
SELECT
    pair_id,
    toStartOfMinute(event_ts) AS minute,
    count() AS events,
    countIf(executable) AS executable_events,
    max(if(size > 0, net_edge, NULL)) AS max_net_edge,
    maxIf(size, executable) AS best_size
FROM `{database}`.`spreads`
GROUP BY pair_id, minute;

CREATE MATERIALIZED VIEW IF NOT EXISTS `{database}`.`pair_minute_stats_windows_mv`
TO `{database}`.`pair_minute_stats` AS
SELECT
    pair_id,
    toStartOfMinute(window_start) AS minute,
    sum(executable_ms) AS executable_ms
FROM `{database}`.`spread_windows`
WHERE `window` = 'tumbling'
GROUP BY pair_id, minute;
