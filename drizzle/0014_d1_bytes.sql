-- D1 bytes per generation (docs/decisions/021-d1-bytes.md). A charged
-- generation paid by the account's own wallet is one D1 row: its usage entry
-- carries what D1 needs of the generation (generation_rollup = 2: account when
-- moved, session, site, model, status when not succeeded, timings, cost, the
-- generation's created_at as started_at) and the entry's trigger writes the
-- generation's rollup row. Its id, hold id, reference, key and description are
-- null where they derive from the generation id, feature and site
-- (worker/lib/entries.ts). Every other generation keeps its generations row.
-- 1. ledger_entries is rebuilt: id and description may be null, the
--    generation's columns added, a partial index for entries moved at sign-in.
-- 2. The triggers reading or writing ledger_entries are made again (as 0013
--    made them, except):
--    stats_ledger_insert skips folded entries (their own trigger counts them),
--    reconcile_ledger_update watches only the ledger's columns (a sign-in
--    moving a folded entry's generation to the user is not an edit).
-- 3. Existing charged personal metadata rows whose entry their rollup row
--    already counts are folded into that entry and deleted; figures unchanged
--    (the row's delete keeps its figures when its entry now carries them).
-- 4. generation_meta: every generation D1 knows, whichever row carries it.
DROP TRIGGER IF EXISTS `stats_ledger_insert`;
DROP TRIGGER IF EXISTS `stats_ledger_update`;
DROP TRIGGER IF EXISTS `stats_ledger_delete`;
DROP TRIGGER IF EXISTS `reconcile_ledger_insert`;
DROP TRIGGER IF EXISTS `reconcile_ledger_update`;
DROP TRIGGER IF EXISTS `reconcile_ledger_delete`;
DROP TRIGGER IF EXISTS `stats_generations_delete`;
DROP TRIGGER IF EXISTS `stats_generations_insert`;
DROP TRIGGER IF EXISTS `stats_generations_link`;
CREATE TABLE `__new_ledger_entries` (
  `wallet_id` text NOT NULL,
  `seq` integer NOT NULL,
  `id` text,
  `type` text NOT NULL,
  `amount` integer NOT NULL,
  `balance_after` integer NOT NULL,
  `grant_id` text,
  `hold_id` text,
  `reference` text,
  `idempotency_key` text,
  `description` text,
  `feature` text,
  `generation_id` text,
  `member_id` text,
  `created_at` integer NOT NULL,
  `generation_rollup` integer DEFAULT 0 NOT NULL,
  `account_id` text,
  `session_id` text,
  `site` text,
  `model` text,
  `status` text,
  `latency_ms` integer,
  `first_delta_ms` integer,
  `cost_usd` real,
  `started_at` integer,
  PRIMARY KEY(`wallet_id`, `seq`)
) WITHOUT ROWID;
INSERT INTO `__new_ledger_entries` (`wallet_id`, `seq`, `id`, `type`, `amount`, `balance_after`, `grant_id`, `hold_id`, `reference`, `idempotency_key`, `description`, `feature`, `generation_id`, `member_id`, `created_at`, `generation_rollup`) SELECT `wallet_id`, `seq`, `id`, `type`, `amount`, `balance_after`, `grant_id`, `hold_id`, `reference`, `idempotency_key`, `description`, `feature`, `generation_id`, `member_id`, `created_at`, `generation_rollup` FROM `ledger_entries`;
DROP TABLE `ledger_entries`;
ALTER TABLE `__new_ledger_entries` RENAME TO `ledger_entries`;
CREATE INDEX `ledger_entries_account_idx` ON `ledger_entries` (`account_id`) WHERE "ledger_entries"."account_id" IS NOT NULL;
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
CREATE TRIGGER `stats_generations_link` AFTER UPDATE OF usage_seq ON generations
WHEN OLD.usage_seq IS NULL AND NEW.usage_seq IS NOT NULL
BEGIN
  INSERT INTO stats_ledger_daily (day, type, amount)
  SELECT l.created_at / 86400000, l.type, l.amount FROM ledger_entries l WHERE l.wallet_id = coalesce(NEW.wallet_id, NEW.account_id) AND l.seq = NEW.usage_seq AND l.generation_id = NEW.id AND l.type = 'usage' AND l.generation_rollup = 1
  ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
END;
CREATE TRIGGER `stats_generations_delete` AFTER DELETE ON generations
WHEN NOT EXISTS (SELECT 1 FROM ledger_entries l WHERE l.wallet_id = coalesce(OLD.wallet_id, OLD.account_id)
  AND l.seq = OLD.usage_seq AND l.generation_id = OLD.id AND l.generation_rollup = 2)
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
CREATE TRIGGER `stats_ledger_insert` AFTER INSERT ON ledger_entries
WHEN NEW.generation_rollup = 0 OR (NEW.generation_rollup = 1 AND EXISTS (SELECT 1 FROM generations g WHERE g.id = NEW.generation_id
  AND g.usage_seq = NEW.seq AND coalesce(g.wallet_id, g.account_id) = NEW.wallet_id))
BEGIN
  INSERT INTO stats_ledger_daily (day, type, amount) VALUES (NEW.created_at / 86400000, NEW.type, 1 * NEW.amount)
  ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
END;
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
CREATE TRIGGER `stats_fold_insert` AFTER INSERT ON ledger_entries
WHEN NEW.generation_rollup = 2
BEGIN
  INSERT INTO stats_usage_daily (day, feature, model, site, status, payer, generations, spent,
    latency_count, latency_sum, latency_max, cost_usd, latency_hist, first_delta_hist, ledger)
  VALUES (NEW.started_at / 86400000, NEW.feature, coalesce(NEW.model, 'unknown'), NEW.site, coalesce(NEW.status, 'succeeded'), 'account',
    1, -1 * NEW.amount, 1 * (NEW.latency_ms IS NOT NULL), 1 * coalesce(NEW.latency_ms, 0), NEW.latency_ms, 1 * coalesce(NEW.cost_usd, 0),
    CASE WHEN NEW.latency_ms IS NULL THEN NULL ELSE json_object(CAST(CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END AS TEXT), 1) END,
    CASE WHEN NEW.first_delta_ms IS NULL THEN NULL ELSE json_object(CAST(CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END AS TEXT), 1) END,
    CASE WHEN NEW.created_at / 86400000 = NEW.started_at / 86400000 THEN NEW.amount ELSE 0 END)
  ON CONFLICT DO UPDATE SET generations = generations + excluded.generations, spent = spent + excluded.spent,
    latency_count = latency_count + excluded.latency_count, latency_sum = latency_sum + excluded.latency_sum,
    latency_max = coalesce(max(latency_max, excluded.latency_max), latency_max, excluded.latency_max),
    cost_usd = cost_usd + excluded.cost_usd,
    latency_hist = CASE WHEN NEW.latency_ms IS NULL THEN latency_hist WHEN coalesce(json_extract(latency_hist, '$."' || (CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (1) = 0 THEN json_remove(coalesce(latency_hist, '{}'), '$."' || (CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END) || '"') ELSE json_set(coalesce(latency_hist, '{}'), '$."' || (CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END) || '"', coalesce(json_extract(latency_hist, '$."' || (CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (1)) END,
    first_delta_hist = CASE WHEN NEW.first_delta_ms IS NULL THEN first_delta_hist WHEN coalesce(json_extract(first_delta_hist, '$."' || (CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (1) = 0 THEN json_remove(coalesce(first_delta_hist, '{}'), '$."' || (CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"') ELSE json_set(coalesce(first_delta_hist, '{}'), '$."' || (CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"', coalesce(json_extract(first_delta_hist, '$."' || (CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END) || '"'), 0) + (1)) END,
    ledger = ledger + excluded.ledger;
  -- The entry itself, when it fell on another day than its generation.
  INSERT INTO stats_ledger_daily (day, type, amount)
  SELECT NEW.created_at / 86400000, NEW.type, NEW.amount WHERE NEW.created_at / 86400000 IS NOT NEW.started_at / 86400000
  ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
END;
CREATE TRIGGER `stats_fold_delete` AFTER DELETE ON ledger_entries
WHEN OLD.generation_rollup = 2
BEGIN
  INSERT INTO stats_usage_daily (day, feature, model, site, status, payer, generations, spent,
    latency_count, latency_sum, latency_max, cost_usd, latency_hist, first_delta_hist, ledger)
  VALUES (OLD.started_at / 86400000, OLD.feature, coalesce(OLD.model, 'unknown'), OLD.site, coalesce(OLD.status, 'succeeded'), 'account',
    -1, 1 * OLD.amount, -1 * (OLD.latency_ms IS NOT NULL), -1 * coalesce(OLD.latency_ms, 0), NULL, -1 * coalesce(OLD.cost_usd, 0),
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
-- A folded entry's amount edited: its generation's spent follows (charged is -amount).
CREATE TRIGGER `stats_fold_update` AFTER UPDATE OF amount ON ledger_entries
WHEN OLD.generation_rollup = 2 AND NEW.generation_rollup = 2 AND OLD.amount IS NOT NEW.amount
BEGIN
  UPDATE stats_usage_daily SET spent = spent - (NEW.amount - OLD.amount)
  WHERE day = OLD.started_at / 86400000 AND feature = OLD.feature AND model = coalesce(OLD.model, 'unknown')
    AND site = OLD.site AND status = coalesce(OLD.status, 'succeeded') AND payer = 'account';
END;
CREATE TRIGGER `reconcile_ledger_insert` AFTER INSERT ON ledger_entries
BEGIN
  INSERT INTO wallet_checks (wallet_id, dirty, marked_at)
  VALUES (NEW.wallet_id, 1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
  ON CONFLICT DO UPDATE SET dirty = 1, marked_at = excluded.marked_at WHERE dirty = 0;
END;
CREATE TRIGGER `reconcile_ledger_update` AFTER UPDATE OF wallet_id, seq, id, type, amount, balance_after, grant_id, hold_id, member_id, created_at ON ledger_entries
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
-- fold:begin (replayable: test/worker/d1-bytes-migration.test.ts)
UPDATE ledger_entries AS l SET generation_rollup = 2, session_id = g.session_id, site = g.site, model = g.model,
  status = nullif(g.status, 'succeeded'), latency_ms = g.latency_ms, first_delta_ms = g.first_delta_ms,
  cost_usd = g.cost_usd, started_at = g.created_at,
  reference = CASE WHEN l.reference = l.generation_id THEN NULL ELSE l.reference END,
  idempotency_key = CASE WHEN l.idempotency_key = 'settle:' || l.hold_id THEN NULL ELSE l.idempotency_key END,
  description = CASE WHEN l.description = 'Ticket ' || CASE l.feature WHEN 'generate' THEN 'generation' ELSE l.feature END || ' (' || g.site || ')' THEN NULL ELSE l.description END
FROM generations AS g
WHERE g.usage_seq = l.seq AND g.account_id = l.wallet_id AND g.wallet_id IS NULL AND g.id = l.generation_id
  AND g.prompt IS NULL AND g.status <> 'pending' AND g.error_code IS NOT 'charge_unconfirmed'
  AND g.charged = -l.amount AND l.type = 'usage' AND l.generation_rollup = 1 AND l.feature = g.feature;
DELETE FROM generations WHERE usage_seq IS NOT NULL AND wallet_id IS NULL AND EXISTS (SELECT 1 FROM ledger_entries l
  WHERE l.wallet_id = generations.account_id AND l.seq = generations.usage_seq AND l.generation_id = generations.id
    AND l.generation_rollup = 2);
-- fold:end
CREATE VIEW `generation_meta` AS
SELECT id, account_id, wallet_id, session_id, site, feature, model, status, charged, latency_ms, first_delta_ms, cost_usd, created_at
  FROM generations
UNION ALL
SELECT generation_id, wallet_id, NULL, session_id, site, feature, model, coalesce(status, 'succeeded'), -amount,
  latency_ms, first_delta_ms, cost_usd, started_at
  FROM ledger_entries WHERE generation_rollup = 2 AND account_id IS NULL
UNION ALL
SELECT generation_id, account_id, NULL, session_id, site, feature, model, coalesce(status, 'succeeded'), -amount,
  latency_ms, first_delta_ms, cost_usd, started_at
  FROM ledger_entries WHERE generation_rollup = 2 AND account_id IS NOT NULL;
