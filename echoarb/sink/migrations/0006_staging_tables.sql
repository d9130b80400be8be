-- Fast write path (issue #6). The sink no longer builds Python Decimals: it inserts the Avro
-- datums it consumed (or, as a fallback, the decoded integers) into Null-engine staging tables
-- whose columns are the Avro fields plus the Kafka coordinates, and these views turn them into
-- the rows of the real tables. Micros become Decimal(18, 6) by reinterpreting the integer as
-- the decimal's raw value, which is exact (no float, no rounding); epoch-ms become
-- DateTime64(3) the same way. Stored values are identical to the old Python conversion.
--
-- A value the old conversion refused (micros outside Decimal(18, 6), a negative count, a
-- string that is not UTF-8) makes the whole insert fail here (the checks name the staging
-- columns as `staged.x` where a SELECT alias of the same name would shadow them); the sink then converts that
-- batch in Python, dead-letters the offending records and inserts the rest. Deduplication
-- tokens carry through the views, so a retried staging insert is dropped in the tables and in
-- pair_minute_stats alike. Null tables store nothing, so they need no deduplication window.
CREATE TABLE IF NOT EXISTS `{database}`.`spreads_staging` (
    `_topic` String,
    `_partition` Int64,
    `_offset` Int64,
    `id` String,
    `pair_id` String,
    `kind` String,
    `legs` Array(Tuple(
        venue String,
        side String,
        outcome String,
        best_price_micros Nullable(Int64),
        avg_price_micros Nullable(Int64),
        size_micros Int64)),
    `gross_edge_micros` Nullable(Int64),
    `size_micros` Int64,
    `cost_micros` Int64,
    `fees_micros` Int64,
    `net_profit_micros` Int64,
    `net_edge_micros` Int64,
    `executable` Bool,
    `quote_age_ms` Int64,
    `event_ts` Int64,
    `computed_at` Int64
) ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS `{database}`.`spreads_staging_mv`
TO `{database}`.`spreads` AS
SELECT
    id,
    pair_id,
    kind,
    legs.venue AS leg_venue,
    legs.side AS leg_side,
    legs.outcome AS leg_outcome,
    arrayMap(m -> if(m IS NULL, NULL, reinterpret(assumeNotNull(m), 'Decimal(18, 6)')), legs.best_price_micros) AS leg_best_price,
    arrayMap(m -> if(m IS NULL, NULL, reinterpret(assumeNotNull(m), 'Decimal(18, 6)')), legs.avg_price_micros) AS leg_avg_price,
    arrayMap(m -> reinterpret(m, 'Decimal(18, 6)'), legs.size_micros) AS leg_size,
    if(gross_edge_micros IS NULL, NULL, reinterpret(assumeNotNull(gross_edge_micros), 'Decimal(18, 6)')) AS gross_edge,
    reinterpret(size_micros, 'Decimal(18, 6)') AS size,
    reinterpret(cost_micros, 'Decimal(18, 6)') AS cost,
    reinterpret(fees_micros, 'Decimal(18, 6)') AS fees,
    reinterpret(net_profit_micros, 'Decimal(18, 6)') AS net_profit,
    reinterpret(net_edge_micros, 'Decimal(18, 6)') AS net_edge,
    executable,
    toUInt64(quote_age_ms) AS quote_age_ms,
    fromUnixTimestamp64Milli(event_ts, 'UTC') AS event_ts,
    fromUnixTimestamp64Milli(computed_at, 'UTC') AS computed_at,
    _topic AS topic,
    toUInt16(_partition) AS `partition`,
    toUInt64(_offset) AS `offset`
FROM `{database}`.`spreads_staging` AS staged
WHERE throwIf(NOT (
    arrayAll(m -> m IS NULL OR (assumeNotNull(m) BETWEEN -999999999999999999 AND 999999999999999999), legs.best_price_micros)
    AND arrayAll(m -> m IS NULL OR (assumeNotNull(m) BETWEEN -999999999999999999 AND 999999999999999999), legs.avg_price_micros)
    AND arrayAll(m -> (m BETWEEN -999999999999999999 AND 999999999999999999), legs.size_micros)
    AND (gross_edge_micros IS NULL OR (assumeNotNull(gross_edge_micros) BETWEEN -999999999999999999 AND 999999999999999999))
    AND (size_micros BETWEEN -999999999999999999 AND 999999999999999999)
    AND (cost_micros BETWEEN -999999999999999999 AND 999999999999999999)
    AND (fees_micros BETWEEN -999999999999999999 AND 999999999999999999)
    AND (net_profit_micros BETWEEN -999999999999999999 AND 999999999999999999)
    AND (net_edge_micros BETWEEN -999999999999999999 AND 999999999999999999)
    AND staged.quote_age_ms >= 0
    AND isValidUTF8(id) AND isValidUTF8(pair_id) AND arrayAll(s -> isValidUTF8(s), legs.outcome)
), 'SpreadEvent: a value cannot be stored exactly (micros out of range, negative count or invalid UTF-8)') = 0;

CREATE TABLE IF NOT EXISTS `{database}`.`spread_windows_staging` (
    `_topic` String,
    `_partition` Int64,
    `_offset` Int64,
    `pair_id` String,
    `window` String,
    `window_start` Int64,
    `window_end` Int64,
    `events` Int64,
    `max_net_edge_micros` Nullable(Int64),
    `best_size_micros` Int64,
    `executable_ms` Int64,
    `emitted_at` Int64
) ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS `{database}`.`spread_windows_staging_mv`
TO `{database}`.`spread_windows` AS
SELECT
    pair_id,
    `window`,
    fromUnixTimestamp64Milli(window_start, 'UTC') AS window_start,
    fromUnixTimestamp64Milli(window_end, 'UTC') AS window_end,
    toUInt64(events) AS events,
    if(max_net_edge_micros IS NULL, NULL, reinterpret(assumeNotNull(max_net_edge_micros), 'Decimal(18, 6)')) AS max_net_edge,
    reinterpret(best_size_micros, 'Decimal(18, 6)') AS best_size,
    toUInt64(executable_ms) AS executable_ms,
    fromUnixTimestamp64Milli(emitted_at, 'UTC') AS emitted_at,
    _topic AS topic,
    toUInt16(_partition) AS `partition`,
    toUInt64(_offset) AS `offset`
FROM `{database}`.`spread_windows_staging` AS staged
WHERE throwIf(NOT (
    staged.events >= 0
    AND staged.executable_ms >= 0
    AND (max_net_edge_micros IS NULL OR (assumeNotNull(max_net_edge_micros) BETWEEN -999999999999999999 AND 999999999999999999))
    AND (best_size_micros BETWEEN -999999999999999999 AND 999999999999999999)
    AND isValidUTF8(pair_id)
), 'SpreadWindow: a value cannot be stored exactly (micros out of range, negative count or invalid UTF-8)') = 0;

CREATE TABLE IF NOT EXISTS `{database}`.`ticks_staging` (
    `_topic` String,
    `_partition` Int64,
    `_offset` Int64,
    `producer_id` String,
    `ticks` Array(Tuple(
        pair_id String,
        venue String,
        outcome String,
        yes_asks Array(Tuple(price_micros Int64, size_micros Int64)),
        no_asks Array(Tuple(price_micros Int64, size_micros Int64)),
        event_ts Int64,
        recv_ts Int64,
        fee_rate_micros Int64,
        status String,
        in_sync Bool,
        real_money Bool,
        seq Int64))
) ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS `{database}`.`ticks_staging_mv`
TO `{database}`.`ticks` AS
SELECT
    tick.venue AS venue,
    tick.pair_id AS pair_id,
    tick.outcome AS outcome,
    if(empty(tick.yes_asks), NULL, reinterpret(tick.yes_asks[1].price_micros, 'Decimal(18, 6)')) AS best_yes_ask,
    if(empty(tick.no_asks), NULL, reinterpret(tick.no_asks[1].price_micros, 'Decimal(18, 6)')) AS best_no_ask,
    arrayMap(l -> reinterpret(l.price_micros, 'Decimal(18, 6)'), tick.yes_asks) AS yes_ask_price,
    arrayMap(l -> reinterpret(l.size_micros, 'Decimal(18, 6)'), tick.yes_asks) AS yes_ask_size,
    arrayMap(l -> reinterpret(l.price_micros, 'Decimal(18, 6)'), tick.no_asks) AS no_ask_price,
    arrayMap(l -> reinterpret(l.size_micros, 'Decimal(18, 6)'), tick.no_asks) AS no_ask_size,
    reinterpret(tick.fee_rate_micros, 'Decimal(18, 6)') AS fee_rate,
    tick.status AS status,
    tick.in_sync AS in_sync,
    tick.real_money AS real_money,
    toUInt64(tick.seq) AS seq,
    fromUnixTimestamp64Milli(tick.event_ts, 'UTC') AS event_ts,
    fromUnixTimestamp64Milli(tick.recv_ts, 'UTC') AS recv_ts,
    producer_id,
    _topic AS topic,
    toUInt16(_partition) AS `partition`,
    toUInt64(_offset) AS `offset`,
    toUInt32(position - 1) AS `index`
FROM `{database}`.`ticks_staging`
ARRAY JOIN ticks AS tick, arrayEnumerate(ticks) AS position
WHERE throwIf(NOT (
    arrayAll(l -> (l.price_micros BETWEEN -999999999999999999 AND 999999999999999999) AND (l.size_micros BETWEEN -999999999999999999 AND 999999999999999999), tick.yes_asks)
    AND arrayAll(l -> (l.price_micros BETWEEN -999999999999999999 AND 999999999999999999) AND (l.size_micros BETWEEN -999999999999999999 AND 999999999999999999), tick.no_asks)
    AND (tick.fee_rate_micros BETWEEN -999999999999999999 AND 999999999999999999)
    AND tick.seq >= 0
    AND isValidUTF8(tick.pair_id) AND isValidUTF8(tick.outcome) AND isValidUTF8(producer_id)
), 'TickBatch: a value cannot be stored exactly (micros out of range, negative count or invalid UTF-8)') = 0;

-- Which path inserted a recorded batch: '' (before this migration) = Python rows straight into
-- `target`, else the staging table. A batch replayed after a restart must take the same path,
-- because ClickHouse derives a different deduplication key for rows arriving through a view.
ALTER TABLE `{database}`.`sink_batches` ADD COLUMN IF NOT EXISTS `via` LowCardinality(String) DEFAULT '';
