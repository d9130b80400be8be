-- Effectively-once delivery: the sink retries a batch after a crash with the same
-- insert_deduplication_token. A non-replicated MergeTree ignores the token unless it keeps a
-- deduplication window; 10,000 inserts cover far more than a restart or a rebalance.
ALTER TABLE `{database}`.`spreads` MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE `{database}`.`spread_windows` MODIFY SETTING non_replicated_deduplication_window = 10000;
