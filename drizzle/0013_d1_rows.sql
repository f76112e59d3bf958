-- D1 rows written per generation (docs/decisions/019-d1-rows.md). D1 counts
-- every row a statement writes: the table's, each index's, each trigger's.
-- 1. ledger_entries and generations become WITHOUT ROWID: the key is the row,
--    where a rowid table writes its row and the key's index.
-- 2. generations' indexes that only some rows need become partial: a final
--    metadata row (no idempotency key, not pending, the account's own wallet)
--    writes only generations_account_idx.
-- 3. stats_usage_daily carries the latency totals, the upstream cost and both
--    timing histograms (JSON bucket -> count) of its generations, so a
--    generation is one rollup row, not four; stats_generation_daily and
--    stats_timing_daily go. It also carries the usage entry written in the
--    same batch as its generation (generation_rollup = 1, pointed at by
--    generations.usage_seq), so that entry writes no stats_ledger_daily row.
-- Triggers on the rebuilt tables are made again; their rollups refilled.
DROP TRIGGER IF EXISTS `stats_generations_insert`;
DROP TRIGGER IF EXISTS `stats_generations_update_usage`;
DROP TRIGGER IF EXISTS `stats_generations_update_timing`;
DROP TRIGGER IF EXISTS `stats_generations_delete`;
DROP TRIGGER IF EXISTS `stats_ledger_insert`;
DROP TRIGGER IF EXISTS `stats_ledger_update`;
DROP TRIGGER IF EXISTS `stats_ledger_delete`;
DROP TRIGGER IF EXISTS `reconcile_ledger_insert`;
DROP TRIGGER IF EXISTS `reconcile_ledger_update`;
DROP TRIGGER IF EXISTS `reconcile_ledger_delete`;
CREATE TABLE `__new_ledger_entries` (
  `wallet_id` text NOT NULL,
  `seq` integer NOT NULL,
  `id` text NOT NULL,
  `type` text NOT NULL,
  `amount` integer NOT NULL,
  `balance_after` integer NOT NULL,
  `grant_id` text,
  `hold_id` text,
  `reference` text,
  `idempotency_key` text,
  `description` text NOT NULL,
  `feature` text,
  `generation_id` text,
  `member_id` text,
  `created_at` integer NOT NULL,
  `generation_rollup` integer DEFAULT 0 NOT NULL,
  PRIMARY KEY(`wallet_id`, `seq`)
) WITHOUT ROWID;
INSERT INTO `__new_ledger_entries` (`wallet_id`, `seq`, `id`, `type`, `amount`, `balance_after`, `grant_id`, `hold_id`, `reference`, `idempotency_key`, `description`, `feature`, `generation_id`, `member_id`, `created_at`) SELECT `wallet_id`, `seq`, `id`, `type`, `amount`, `balance_after`, `grant_id`, `hold_id`, `reference`, `idempotency_key`, `description`, `feature`, `generation_id`, `member_id`, `created_at` FROM `ledger_entries`;
DROP TABLE `ledger_entries`;
ALTER TABLE `__new_ledger_entries` RENAME TO `ledger_entries`;
CREATE TABLE `__new_generations` (
  `id` text PRIMARY KEY NOT NULL,
  `account_id` text NOT NULL,
  `wallet_id` text,
  `session_id` text,
  `idempotency_key` text,
  `request_hash` text,
  `site` text NOT NULL,
  `feature` text NOT NULL,
  `issue_type` text NOT NULL,
  `prompt` text,
  `context` text,
  `title` text,
  `description` text,
  `output` text,
  `model` text,
  `upstream_id` text,
  `status` text NOT NULL,
  `error_code` text,
  `held` integer DEFAULT 0 NOT NULL,
  `charged` integer DEFAULT 0 NOT NULL,
  `input_tokens` integer,
  `output_tokens` integer,
  `cost_usd` real,
  `first_delta_ms` integer,
  `latency_ms` integer,
  `created_at` integer NOT NULL,
  `completed_at` integer,
  `usage_seq` integer
) WITHOUT ROWID;
INSERT INTO `__new_generations` (`id`, `account_id`, `wallet_id`, `session_id`, `idempotency_key`, `request_hash`, `site`, `feature`, `issue_type`, `prompt`, `context`, `title`, `description`, `output`, `model`, `upstream_id`, `status`, `error_code`, `held`, `charged`, `input_tokens`, `output_tokens`, `cost_usd`, `first_delta_ms`, `latency_ms`, `created_at`, `completed_at`) SELECT `id`, `account_id`, `wallet_id`, `session_id`, `idempotency_key`, `request_hash`, `site`, `feature`, `issue_type`, `prompt`, `context`, `title`, `description`, `output`, `model`, `upstream_id`, `status`, `error_code`, `held`, `charged`, `input_tokens`, `output_tokens`, `cost_usd`, `first_delta_ms`, `latency_ms`, `created_at`, `completed_at` FROM `generations`;
DROP TABLE `generations`;
ALTER TABLE `__new_generations` RENAME TO `generations`;
CREATE INDEX `generations_account_idx` ON `generations` (`account_id`,`id`);
CREATE UNIQUE INDEX `generations_account_key_unique` ON `generations` (`account_id`,`idempotency_key`) WHERE "generations"."idempotency_key" IS NOT NULL;
CREATE INDEX `generations_open_idx` ON `generations` (`created_at`) WHERE "generations"."status" = 'pending' OR "generations"."error_code" = 'charge_unconfirmed';
CREATE INDEX `generations_wallet_idx` ON `generations` (`wallet_id`,`created_at`) WHERE "generations"."wallet_id" IS NOT NULL;
DROP TABLE `stats_generation_daily`;
DROP TABLE `stats_timing_daily`;
DROP TABLE `stats_usage_daily`;
CREATE TABLE `stats_usage_daily` (
  `day` integer NOT NULL, `feature` text NOT NULL, `model` text NOT NULL, `site` text NOT NULL,
  `status` text NOT NULL, `payer` text NOT NULL, `generations` integer DEFAULT 0 NOT NULL, `spent` integer DEFAULT 0 NOT NULL,
  `latency_count` integer DEFAULT 0 NOT NULL, `latency_sum` integer DEFAULT 0 NOT NULL, `latency_max` integer,
  `cost_usd` real DEFAULT 0 NOT NULL, `latency_hist` text, `first_delta_hist` text, `ledger` integer DEFAULT 0 NOT NULL,
  PRIMARY KEY(`day`, `feature`, `model`, `site`, `status`, `payer`)
) WITHOUT ROWID;
INSERT INTO stats_usage_daily (day, feature, model, site, status, payer, generations, spent, latency_count, latency_sum, latency_max, cost_usd, latency_hist, first_delta_hist)
WITH g AS (
  SELECT created_at / 86400000 AS day, feature, coalesce(model, 'unknown') AS model, site, status, CASE WHEN generations.wallet_id IS NULL OR generations.wallet_id = generations.account_id THEN 'account' ELSE 'team' END AS payer,
    charged, latency_ms, first_delta_ms, cost_usd,
    CASE WHEN CAST(latency_ms AS INTEGER) < 100 THEN CAST(latency_ms AS INTEGER) WHEN CAST(latency_ms AS INTEGER) < 1000 THEN CAST(latency_ms AS INTEGER) / 10 * 10 WHEN CAST(latency_ms AS INTEGER) < 10000 THEN CAST(latency_ms AS INTEGER) / 100 * 100 WHEN CAST(latency_ms AS INTEGER) < 100000 THEN CAST(latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(latency_ms AS INTEGER) / 10000 * 10000 END AS lb, CASE WHEN CAST(first_delta_ms AS INTEGER) < 100 THEN CAST(first_delta_ms AS INTEGER) WHEN CAST(first_delta_ms AS INTEGER) < 1000 THEN CAST(first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(first_delta_ms AS INTEGER) < 10000 THEN CAST(first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(first_delta_ms AS INTEGER) < 100000 THEN CAST(first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(first_delta_ms AS INTEGER) / 10000 * 10000 END AS fb
  FROM generations
),
lat AS (SELECT day, feature, model, site, status, payer, json_group_object(CAST(lb AS TEXT), n) AS h FROM (
  SELECT day, feature, model, site, status, payer, lb, count(*) AS n FROM g WHERE latency_ms IS NOT NULL GROUP BY day, feature, model, site, status, payer, lb) GROUP BY day, feature, model, site, status, payer),
fd AS (SELECT day, feature, model, site, status, payer, json_group_object(CAST(fb AS TEXT), n) AS h FROM (
  SELECT day, feature, model, site, status, payer, fb, count(*) AS n FROM g WHERE first_delta_ms IS NOT NULL GROUP BY day, feature, model, site, status, payer, fb) GROUP BY day, feature, model, site, status, payer),
t AS (SELECT day, feature, model, site, status, payer, count(*) AS n, coalesce(sum(charged), 0) AS spent, count(latency_ms) AS lc, coalesce(sum(latency_ms), 0) AS ls,
  max(latency_ms) AS lm, coalesce(sum(cost_usd), 0) AS cost FROM g GROUP BY day, feature, model, site, status, payer)
SELECT t.day, t.feature, t.model, t.site, t.status, t.payer, t.n, t.spent, t.lc, t.ls, t.lm, t.cost, lat.h, fd.h
FROM t LEFT JOIN lat USING (day, feature, model, site, status, payer) LEFT JOIN fd USING (day, feature, model, site, status, payer);
CREATE TRIGGER `stats_generations_insert` AFTER INSERT ON generations
BEGIN
  INSERT INTO stats_usage_daily (day, feature, model, site, status, payer, generations, spent,
    latency_count, latency_sum, latency_max, cost_usd, latency_hist, first_delta_hist, ledger)
  VALUES (NEW.created_at / 86400000, NEW.feature, coalesce(NEW.model, 'unknown'), NEW.site, NEW.status, CASE WHEN NEW.wallet_id IS NULL OR NEW.wallet_id = NEW.account_id THEN 'account' ELSE 'team' END,
    1, 1 * NEW.charged, 1 * (NEW.latency_ms IS NOT NULL), 1 * coalesce(NEW.latency_ms, 0), NEW.latency_ms, 1 * coalesce(NEW.cost_usd, 0),
    CASE WHEN NEW.latency_ms IS NULL THEN NULL ELSE json_object(CAST(CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END AS TEXT), 1) END,
    CASE WHEN NEW.first_delta_ms IS NULL THEN NULL ELSE json_object(CAST(CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END AS TEXT), 1) END,
    coalesce((SELECT l.amount FROM ledger_entries l WHERE l.wallet_id = coalesce(NEW.wallet_id, NEW.account_id) AND l.seq = NEW.usage_seq AND l.generation_id = NEW.id AND l.type = 'usage' AND l.generation_rollup = 1 AND l.created_at / 86400000 = NEW.created_at / 86400000), 0))
  ON CONFLICT DO UPDATE SET generations = generations + excluded.generations, spent = spent + excluded.spent,
    latency_count = latency_count + excluded.latency_count, latency_sum = latency_sum + excluded.latency_sum,
    latency_max = coalesce(max(latency_max, excluded.latency_max), latency_max, excluded.latency_max),
    cost_usd = cost_usd + excluded.cost_usd,
    latency_hist = CASE WHEN NEW.latency_ms IS NULL THEN latency_hist WHEN coalesce(json_extract(latency_hist, '$."' || (CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (1) = 0 THEN json_remove(coalesce(latency_hist, '{}'), '$."' || (CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END) || '"') ELSE json_set(coalesce(latency_hist, '{}'), '$."' || (CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END) || '"', coalesce(json_extract(latency_hist, '$."' || (CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (1)) END,
    first_delta_hist = CASE WHEN NEW.first_delta_ms IS NULL THEN first_delta_hist WHEN coalesce(json_extract(first_delta_hist, '$."' || (CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (1) = 0 THEN json_remove(coalesce(first_delta_hist, '{}'), '$."' || (CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"') ELSE json_set(coalesce(first_delta_hist, '{}'), '$."' || (CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"', coalesce(json_extract(first_delta_hist, '$."' || (CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (1)) END,
    ledger = ledger + excluded.ledger;
  -- Its usage entry, when that fell on another day (the rollup row is the generation's day's).
  INSERT INTO stats_ledger_daily (day, type, amount)
  SELECT l.created_at / 86400000, l.type, l.amount FROM ledger_entries l WHERE l.wallet_id = coalesce(NEW.wallet_id, NEW.account_id) AND l.seq = NEW.usage_seq AND l.generation_id = NEW.id AND l.type = 'usage' AND l.generation_rollup = 1 AND l.created_at / 86400000 IS NOT NEW.created_at / 86400000
  ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
END;
CREATE TRIGGER `stats_generations_update` AFTER UPDATE OF feature, model, site, status, charged, wallet_id, account_id, created_at, latency_ms, first_delta_ms, cost_usd ON generations
WHEN OLD.feature IS NOT NEW.feature OR OLD.model IS NOT NEW.model OR OLD.site IS NOT NEW.site OR OLD.status IS NOT NEW.status OR OLD.charged IS NOT NEW.charged OR OLD.wallet_id IS NOT NEW.wallet_id OR OLD.account_id IS NOT NEW.account_id OR OLD.created_at IS NOT NEW.created_at OR OLD.latency_ms IS NOT NEW.latency_ms OR OLD.first_delta_ms IS NOT NEW.first_delta_ms OR OLD.cost_usd IS NOT NEW.cost_usd
BEGIN
  INSERT INTO stats_usage_daily (day, feature, model, site, status, payer, generations, spent,
    latency_count, latency_sum, latency_max, cost_usd, latency_hist, first_delta_hist, ledger)
  VALUES (OLD.created_at / 86400000, OLD.feature, coalesce(OLD.model, 'unknown'), OLD.site, OLD.status, CASE WHEN OLD.wallet_id IS NULL OR OLD.wallet_id = OLD.account_id THEN 'account' ELSE 'team' END,
    -1, -1 * OLD.charged, -1 * (OLD.latency_ms IS NOT NULL), -1 * coalesce(OLD.latency_ms, 0), NULL, -1 * coalesce(OLD.cost_usd, 0),
    CASE WHEN OLD.latency_ms IS NULL THEN NULL ELSE json_object(CAST(CASE WHEN CAST(OLD.latency_ms AS INTEGER) < 100 THEN CAST(OLD.latency_ms AS INTEGER) WHEN CAST(OLD.latency_ms AS INTEGER) < 1000 THEN CAST(OLD.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.latency_ms AS INTEGER) < 10000 THEN CAST(OLD.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.latency_ms AS INTEGER) < 100000 THEN CAST(OLD.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.latency_ms AS INTEGER) / 10000 * 10000 END AS TEXT), -1) END,
    CASE WHEN OLD.first_delta_ms IS NULL THEN NULL ELSE json_object(CAST(CASE WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100 THEN CAST(OLD.first_delta_ms AS INTEGER) WHEN CAST(OLD.first_delta_ms AS INTEGER) < 1000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 10000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.first_delta_ms AS INTEGER) / 10000 * 10000 END AS TEXT), -1) END,
    0)
  ON CONFLICT DO UPDATE SET generations = generations + excluded.generations, spent = spent + excluded.spent,
    latency_count = latency_count + excluded.latency_count, latency_sum = latency_sum + excluded.latency_sum,
    latency_max = coalesce(max(latency_max, excluded.latency_max), latency_max, excluded.latency_max),
    cost_usd = cost_usd + excluded.cost_usd,
    latency_hist = CASE WHEN OLD.latency_ms IS NULL THEN latency_hist WHEN coalesce(json_extract(latency_hist, '$."' || (CASE WHEN CAST(OLD.latency_ms AS INTEGER) < 100 THEN CAST(OLD.latency_ms AS INTEGER) WHEN CAST(OLD.latency_ms AS INTEGER) < 1000 THEN CAST(OLD.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.latency_ms AS INTEGER) < 10000 THEN CAST(OLD.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.latency_ms AS INTEGER) < 100000 THEN CAST(OLD.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.latency_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (-1) = 0 THEN json_remove(coalesce(latency_hist, '{}'), '$."' || (CASE WHEN CAST(OLD.latency_ms AS INTEGER) < 100 THEN CAST(OLD.latency_ms AS INTEGER) WHEN CAST(OLD.latency_ms AS INTEGER) < 1000 THEN CAST(OLD.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.latency_ms AS INTEGER) < 10000 THEN CAST(OLD.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.latency_ms AS INTEGER) < 100000 THEN CAST(OLD.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.latency_ms AS INTEGER) / 10000 * 10000 END) || '"') ELSE json_set(coalesce(latency_hist, '{}'), '$."' || (CASE WHEN CAST(OLD.latency_ms AS INTEGER) < 100 THEN CAST(OLD.latency_ms AS INTEGER) WHEN CAST(OLD.latency_ms AS INTEGER) < 1000 THEN CAST(OLD.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.latency_ms AS INTEGER) < 10000 THEN CAST(OLD.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.latency_ms AS INTEGER) < 100000 THEN CAST(OLD.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.latency_ms AS INTEGER) / 10000 * 10000 END) || '"', coalesce(json_extract(latency_hist, '$."' || (CASE WHEN CAST(OLD.latency_ms AS INTEGER) < 100 THEN CAST(OLD.latency_ms AS INTEGER) WHEN CAST(OLD.latency_ms AS INTEGER) < 1000 THEN CAST(OLD.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.latency_ms AS INTEGER) < 10000 THEN CAST(OLD.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.latency_ms AS INTEGER) < 100000 THEN CAST(OLD.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.latency_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (-1)) END,
    first_delta_hist = CASE WHEN OLD.first_delta_ms IS NULL THEN first_delta_hist WHEN coalesce(json_extract(first_delta_hist, '$."' || (CASE WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100 THEN CAST(OLD.first_delta_ms AS INTEGER) WHEN CAST(OLD.first_delta_ms AS INTEGER) < 1000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 10000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (-1) = 0 THEN json_remove(coalesce(first_delta_hist, '{}'), '$."' || (CASE WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100 THEN CAST(OLD.first_delta_ms AS INTEGER) WHEN CAST(OLD.first_delta_ms AS INTEGER) < 1000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 10000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"') ELSE json_set(coalesce(first_delta_hist, '{}'), '$."' || (CASE WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100 THEN CAST(OLD.first_delta_ms AS INTEGER) WHEN CAST(OLD.first_delta_ms AS INTEGER) < 1000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 10000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"', coalesce(json_extract(first_delta_hist, '$."' || (CASE WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100 THEN CAST(OLD.first_delta_ms AS INTEGER) WHEN CAST(OLD.first_delta_ms AS INTEGER) < 1000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 10000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (-1)) END,
    ledger = ledger + excluded.ledger;
  INSERT INTO stats_usage_daily (day, feature, model, site, status, payer, generations, spent,
    latency_count, latency_sum, latency_max, cost_usd, latency_hist, first_delta_hist, ledger)
  VALUES (NEW.created_at / 86400000, NEW.feature, coalesce(NEW.model, 'unknown'), NEW.site, NEW.status, CASE WHEN NEW.wallet_id IS NULL OR NEW.wallet_id = NEW.account_id THEN 'account' ELSE 'team' END,
    1, 1 * NEW.charged, 1 * (NEW.latency_ms IS NOT NULL), 1 * coalesce(NEW.latency_ms, 0), NEW.latency_ms, 1 * coalesce(NEW.cost_usd, 0),
    CASE WHEN NEW.latency_ms IS NULL THEN NULL ELSE json_object(CAST(CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END AS TEXT), 1) END,
    CASE WHEN NEW.first_delta_ms IS NULL THEN NULL ELSE json_object(CAST(CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END AS TEXT), 1) END,
    0)
  ON CONFLICT DO UPDATE SET generations = generations + excluded.generations, spent = spent + excluded.spent,
    latency_count = latency_count + excluded.latency_count, latency_sum = latency_sum + excluded.latency_sum,
    latency_max = coalesce(max(latency_max, excluded.latency_max), latency_max, excluded.latency_max),
    cost_usd = cost_usd + excluded.cost_usd,
    latency_hist = CASE WHEN NEW.latency_ms IS NULL THEN latency_hist WHEN coalesce(json_extract(latency_hist, '$."' || (CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (1) = 0 THEN json_remove(coalesce(latency_hist, '{}'), '$."' || (CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END) || '"') ELSE json_set(coalesce(latency_hist, '{}'), '$."' || (CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END) || '"', coalesce(json_extract(latency_hist, '$."' || (CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (1)) END,
    first_delta_hist = CASE WHEN NEW.first_delta_ms IS NULL THEN first_delta_hist WHEN coalesce(json_extract(first_delta_hist, '$."' || (CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (1) = 0 THEN json_remove(coalesce(first_delta_hist, '{}'), '$."' || (CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"') ELSE json_set(coalesce(first_delta_hist, '{}'), '$."' || (CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"', coalesce(json_extract(first_delta_hist, '$."' || (CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (1)) END,
    ledger = ledger + excluded.ledger;
END;
-- A row written before its usage entry pointed at it: the entry went uncounted (stats_ledger_insert).
CREATE TRIGGER `stats_generations_link` AFTER UPDATE OF usage_seq ON generations
WHEN OLD.usage_seq IS NULL AND NEW.usage_seq IS NOT NULL
BEGIN
  INSERT INTO stats_ledger_daily (day, type, amount)
  SELECT l.created_at / 86400000, l.type, l.amount FROM ledger_entries l WHERE l.wallet_id = coalesce(NEW.wallet_id, NEW.account_id) AND l.seq = NEW.usage_seq AND l.generation_id = NEW.id AND l.type = 'usage' AND l.generation_rollup = 1
  ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
END;
CREATE TRIGGER `stats_generations_delete` AFTER DELETE ON generations
BEGIN
  INSERT INTO stats_usage_daily (day, feature, model, site, status, payer, generations, spent,
    latency_count, latency_sum, latency_max, cost_usd, latency_hist, first_delta_hist, ledger)
  VALUES (OLD.created_at / 86400000, OLD.feature, coalesce(OLD.model, 'unknown'), OLD.site, OLD.status, CASE WHEN OLD.wallet_id IS NULL OR OLD.wallet_id = OLD.account_id THEN 'account' ELSE 'team' END,
    -1, -1 * OLD.charged, -1 * (OLD.latency_ms IS NOT NULL), -1 * coalesce(OLD.latency_ms, 0), NULL, -1 * coalesce(OLD.cost_usd, 0),
    CASE WHEN OLD.latency_ms IS NULL THEN NULL ELSE json_object(CAST(CASE WHEN CAST(OLD.latency_ms AS INTEGER) < 100 THEN CAST(OLD.latency_ms AS INTEGER) WHEN CAST(OLD.latency_ms AS INTEGER) < 1000 THEN CAST(OLD.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.latency_ms AS INTEGER) < 10000 THEN CAST(OLD.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.latency_ms AS INTEGER) < 100000 THEN CAST(OLD.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.latency_ms AS INTEGER) / 10000 * 10000 END AS TEXT), -1) END,
    CASE WHEN OLD.first_delta_ms IS NULL THEN NULL ELSE json_object(CAST(CASE WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100 THEN CAST(OLD.first_delta_ms AS INTEGER) WHEN CAST(OLD.first_delta_ms AS INTEGER) < 1000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 10000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.first_delta_ms AS INTEGER) / 10000 * 10000 END AS TEXT), -1) END,
    0)
  ON CONFLICT DO UPDATE SET generations = generations + excluded.generations, spent = spent + excluded.spent,
    latency_count = latency_count + excluded.latency_count, latency_sum = latency_sum + excluded.latency_sum,
    latency_max = coalesce(max(latency_max, excluded.latency_max), latency_max, excluded.latency_max),
    cost_usd = cost_usd + excluded.cost_usd,
    latency_hist = CASE WHEN OLD.latency_ms IS NULL THEN latency_hist WHEN coalesce(json_extract(latency_hist, '$."' || (CASE WHEN CAST(OLD.latency_ms AS INTEGER) < 100 THEN CAST(OLD.latency_ms AS INTEGER) WHEN CAST(OLD.latency_ms AS INTEGER) < 1000 THEN CAST(OLD.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.latency_ms AS INTEGER) < 10000 THEN CAST(OLD.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.latency_ms AS INTEGER) < 100000 THEN CAST(OLD.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.latency_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (-1) = 0 THEN json_remove(coalesce(latency_hist, '{}'), '$."' || (CASE WHEN CAST(OLD.latency_ms AS INTEGER) < 100 THEN CAST(OLD.latency_ms AS INTEGER) WHEN CAST(OLD.latency_ms AS INTEGER) < 1000 THEN CAST(OLD.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.latency_ms AS INTEGER) < 10000 THEN CAST(OLD.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.latency_ms AS INTEGER) < 100000 THEN CAST(OLD.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.latency_ms AS INTEGER) / 10000 * 10000 END) || '"') ELSE json_set(coalesce(latency_hist, '{}'), '$."' || (CASE WHEN CAST(OLD.latency_ms AS INTEGER) < 100 THEN CAST(OLD.latency_ms AS INTEGER) WHEN CAST(OLD.latency_ms AS INTEGER) < 1000 THEN CAST(OLD.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.latency_ms AS INTEGER) < 10000 THEN CAST(OLD.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.latency_ms AS INTEGER) < 100000 THEN CAST(OLD.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.latency_ms AS INTEGER) / 10000 * 10000 END) || '"', coalesce(json_extract(latency_hist, '$."' || (CASE WHEN CAST(OLD.latency_ms AS INTEGER) < 100 THEN CAST(OLD.latency_ms AS INTEGER) WHEN CAST(OLD.latency_ms AS INTEGER) < 1000 THEN CAST(OLD.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.latency_ms AS INTEGER) < 10000 THEN CAST(OLD.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.latency_ms AS INTEGER) < 100000 THEN CAST(OLD.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.latency_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (-1)) END,
    first_delta_hist = CASE WHEN OLD.first_delta_ms IS NULL THEN first_delta_hist WHEN coalesce(json_extract(first_delta_hist, '$."' || (CASE WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100 THEN CAST(OLD.first_delta_ms AS INTEGER) WHEN CAST(OLD.first_delta_ms AS INTEGER) < 1000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 10000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (-1) = 0 THEN json_remove(coalesce(first_delta_hist, '{}'), '$."' || (CASE WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100 THEN CAST(OLD.first_delta_ms AS INTEGER) WHEN CAST(OLD.first_delta_ms AS INTEGER) < 1000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 10000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"') ELSE json_set(coalesce(first_delta_hist, '{}'), '$."' || (CASE WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100 THEN CAST(OLD.first_delta_ms AS INTEGER) WHEN CAST(OLD.first_delta_ms AS INTEGER) < 1000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 10000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"', coalesce(json_extract(first_delta_hist, '$."' || (CASE WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100 THEN CAST(OLD.first_delta_ms AS INTEGER) WHEN CAST(OLD.first_delta_ms AS INTEGER) < 1000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 10000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (-1)) END,
    ledger = ledger + excluded.ledger;
END;
-- An entry flagged generation_rollup is counted by its generation's row
-- (stats_generations_insert), unless that row is already there: then it was
-- written first and could not count it.
CREATE TRIGGER `stats_ledger_insert` AFTER INSERT ON ledger_entries
WHEN NEW.generation_rollup = 0 OR EXISTS (SELECT 1 FROM generations g WHERE g.id = NEW.generation_id
  AND g.usage_seq = NEW.seq AND coalesce(g.wallet_id, g.account_id) = NEW.wallet_id)
BEGIN
  INSERT INTO stats_ledger_daily (day, type, amount) VALUES (NEW.created_at / 86400000, NEW.type, 1 * NEW.amount)
  ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
END;
-- Edits and deletions move the figure through stats_ledger_daily wherever the
-- entry was first counted: stats adds both tables' usage.
CREATE TRIGGER `stats_ledger_update` AFTER UPDATE OF type, amount, created_at ON ledger_entries
WHEN OLD.type IS NOT NEW.type OR OLD.amount IS NOT NEW.amount OR OLD.created_at IS NOT NEW.created_at
BEGIN
  INSERT INTO stats_ledger_daily (day, type, amount) VALUES (OLD.created_at / 86400000, OLD.type, -1 * OLD.amount)
  ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
  INSERT INTO stats_ledger_daily (day, type, amount) VALUES (NEW.created_at / 86400000, NEW.type, 1 * NEW.amount)
  ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
END;
CREATE TRIGGER `stats_ledger_delete` AFTER DELETE ON ledger_entries
BEGIN
  INSERT INTO stats_ledger_daily (day, type, amount) VALUES (OLD.created_at / 86400000, OLD.type, -1 * OLD.amount)
  ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
END;
CREATE TRIGGER `reconcile_ledger_insert` AFTER INSERT ON ledger_entries
BEGIN
  INSERT INTO wallet_checks (wallet_id, dirty, marked_at)
  VALUES (NEW.wallet_id, 1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
  ON CONFLICT DO UPDATE SET dirty = 1, marked_at = excluded.marked_at WHERE dirty = 0;
END;
CREATE TRIGGER `reconcile_ledger_update` AFTER UPDATE ON ledger_entries
BEGIN
  INSERT INTO wallet_checks (wallet_id, dirty, marked_at)
  VALUES (OLD.wallet_id, 1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    (NEW.wallet_id, 1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
  ON CONFLICT DO UPDATE SET dirty = 1, tampered = 1, marked_at = excluded.marked_at;
END;
CREATE TRIGGER `reconcile_ledger_delete` AFTER DELETE ON ledger_entries
BEGIN
  INSERT INTO wallet_checks (wallet_id, dirty, marked_at)
  VALUES (OLD.wallet_id, 1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
  ON CONFLICT DO UPDATE SET dirty = 1, tampered = 1, marked_at = excluded.marked_at;
END;
