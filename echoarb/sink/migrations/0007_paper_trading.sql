-- Paper trading (`echoarb backtest --paper`, docs/backtest.md): simulated trades on the live
-- spreads stream, never real orders. One row per trade and one per simulated order;
-- `paper_positions` sums the orders into open contracts and cost per run, pair and leg.
-- `run_id` names one paper session; `signal_id` is the spread event's id.
CREATE TABLE IF NOT EXISTS `{database}`.`paper_trades` (
    `run_id` LowCardinality(String),
    `signal_id` String,
    `pair_id` LowCardinality(String),
    `key` String,
    `signal_ts` DateTime64(3, 'UTC'),
    `done_ts` DateTime64(3, 'UTC'),
    `reported_size` Decimal(18, 6),
    `reported_profit` Decimal(18, 6),
    `sets` Decimal(18, 6),
    `unwound` Decimal(18, 6),
    `residual` Decimal(18, 6),
    `mark` Decimal(18, 6),
    `outlay` Decimal(18, 6),
    `fees` Decimal(18, 6),
    `pnl` Decimal(18, 6),
    `fully_filled` Bool,
    `one_legged` Bool,
    `latency` String,
    `policy` LowCardinality(String),
    `legs` LowCardinality(String),
    `inserted_at` DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
ORDER BY (run_id, pair_id, signal_ts)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS `{database}`.`paper_orders` (
    `run_id` LowCardinality(String),
    `signal_id` String,
    `pair_id` LowCardinality(String),
    `ts` DateTime64(3, 'UTC'),
    `purpose` LowCardinality(String),
    `venue` LowCardinality(String),
    `side` LowCardinality(String),
    `outcome` LowCardinality(String),
    `qty` Decimal(18, 6),
    `limit_price` Nullable(Decimal(18, 6)),
    `filled` Decimal(18, 6),
    `notional` Decimal(18, 6),
    `fees` Decimal(18, 6),
    `reason` String,
    `inserted_at` DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
ORDER BY (run_id, pair_id, ts)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE VIEW IF NOT EXISTS `{database}`.`paper_positions` AS
SELECT
    run_id,
    pair_id,
    venue,
    outcome,
    side,
    sum(filled) AS contracts,
    sum(notional + fees) AS cost,
    count() AS orders,
    max(ts) AS last_ts
FROM `{database}`.`paper_orders`
WHERE filled > 0
GROUP BY run_id, pair_id, venue, outcome, side;
