-- Daily rollups behind GET /admin/stats (docs/decisions/016-scale.md).
-- 1. The rollups with a composite key are made WITHOUT ROWID (drizzle cannot say so):
--    the key is then the row, and each upsert costs one D1 row written instead of two.
-- 2. They are filled from the rows already there.
-- 3. Triggers keep them current in the same write as the rows they count,
--    whichever code path writes generations, ledger entries, accounts or purchases.
DROP TABLE `stats_usage_daily`;
CREATE TABLE `stats_usage_daily` (
  `day` integer NOT NULL, `feature` text NOT NULL, `model` text NOT NULL, `site` text NOT NULL,
  `status` text NOT NULL, `payer` text NOT NULL, `generations` integer DEFAULT 0 NOT NULL, `spent` integer DEFAULT 0 NOT NULL,
  PRIMARY KEY(`day`, `feature`, `model`, `site`, `status`, `payer`)
) WITHOUT ROWID;
DROP TABLE `stats_timing_daily`;
CREATE TABLE `stats_timing_daily` (
  `day` integer NOT NULL, `metric` text NOT NULL, `bucket` integer NOT NULL, `n` integer DEFAULT 0 NOT NULL,
  PRIMARY KEY(`day`, `metric`, `bucket`)
) WITHOUT ROWID;
DROP TABLE `stats_ledger_daily`;
CREATE TABLE `stats_ledger_daily` (
  `day` integer NOT NULL, `type` text NOT NULL, `amount` integer DEFAULT 0 NOT NULL, PRIMARY KEY(`day`, `type`)
) WITHOUT ROWID;
DROP TABLE `stats_accounts_daily`;
CREATE TABLE `stats_accounts_daily` (
  `day` integer NOT NULL, `event` text NOT NULL, `n` integer DEFAULT 0 NOT NULL, PRIMARY KEY(`day`, `event`)
) WITHOUT ROWID;
DROP TABLE `stats_revenue_daily`;
CREATE TABLE `stats_revenue_daily` (
  `day` integer NOT NULL, `currency` text NOT NULL, `demo` integer NOT NULL,
  `purchases` integer DEFAULT 0 NOT NULL, `packs` integer DEFAULT 0 NOT NULL, `allowances` integer DEFAULT 0 NOT NULL,
  `tokens` integer DEFAULT 0 NOT NULL, `gross` integer DEFAULT 0 NOT NULL, `refunded` integer DEFAULT 0 NOT NULL,
  `disputed` integer DEFAULT 0 NOT NULL, `net` integer DEFAULT 0 NOT NULL, PRIMARY KEY(`day`, `currency`, `demo`)
) WITHOUT ROWID;
INSERT INTO stats_usage_daily (day, feature, model, site, status, payer, generations, spent)
SELECT created_at / 86400000, feature, coalesce(model, 'unknown'), site, status, CASE WHEN generations.wallet_id IS NULL OR generations.wallet_id = generations.account_id THEN 'account' ELSE 'team' END, count(*), coalesce(sum(charged), 0)
FROM generations GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO stats_generation_daily (day, latency_count, latency_sum, latency_max, cost_usd)
SELECT created_at / 86400000, count(latency_ms), coalesce(sum(latency_ms), 0), max(latency_ms), coalesce(sum(cost_usd), 0)
FROM generations WHERE latency_ms IS NOT NULL OR cost_usd IS NOT NULL GROUP BY 1;
INSERT INTO stats_timing_daily (day, metric, bucket, n)
SELECT created_at / 86400000, 'latency', CASE WHEN CAST(latency_ms AS INTEGER) < 100 THEN CAST(latency_ms AS INTEGER) WHEN CAST(latency_ms AS INTEGER) < 1000 THEN CAST(latency_ms AS INTEGER) / 10 * 10 WHEN CAST(latency_ms AS INTEGER) < 10000 THEN CAST(latency_ms AS INTEGER) / 100 * 100 WHEN CAST(latency_ms AS INTEGER) < 100000 THEN CAST(latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(latency_ms AS INTEGER) / 10000 * 10000 END, count(*) FROM generations WHERE latency_ms IS NOT NULL GROUP BY 1, 3;
INSERT INTO stats_timing_daily (day, metric, bucket, n)
SELECT created_at / 86400000, 'first_delta', CASE WHEN CAST(first_delta_ms AS INTEGER) < 100 THEN CAST(first_delta_ms AS INTEGER) WHEN CAST(first_delta_ms AS INTEGER) < 1000 THEN CAST(first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(first_delta_ms AS INTEGER) < 10000 THEN CAST(first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(first_delta_ms AS INTEGER) < 100000 THEN CAST(first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(first_delta_ms AS INTEGER) / 10000 * 10000 END, count(*) FROM generations WHERE first_delta_ms IS NOT NULL GROUP BY 1, 3;
INSERT INTO stats_ledger_daily (day, type, amount)
SELECT created_at / 86400000, type, sum(amount) FROM ledger_entries GROUP BY 1, 2;
INSERT INTO stats_accounts_daily (day, event, n)
SELECT created_at / 86400000, kind, count(*) FROM accounts GROUP BY 1, 2;
INSERT INTO stats_accounts_daily (day, event, n)
SELECT first / 86400000, 'first_purchase', count(*) FROM (
  SELECT min(p.created_at) AS first FROM purchases p WHERE NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = p.checkout_session_id AND c.demo = 1) GROUP BY p.account_id
) GROUP BY 1;
INSERT INTO stats_funnel_daily (day, anonymous, signed_up, paying)
SELECT a.created_at / 86400000, count(*), count(a.merged_into), sum((CASE WHEN a.merged_into IS NOT NULL AND EXISTS (SELECT 1 FROM purchases p WHERE p.account_id = a.merged_into AND NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = p.checkout_session_id AND c.demo = 1)) THEN 1 ELSE 0 END))
FROM accounts a WHERE a.kind = 'anonymous' GROUP BY 1;
INSERT INTO stats_revenue_daily (day, currency, demo, purchases, packs, allowances, tokens, gross, refunded, disputed, net)
SELECT p.created_at / 86400000, p.currency, EXISTS (SELECT 1 FROM checkouts c WHERE c.id = p.checkout_session_id AND c.demo = 1), count(*), sum(p.kind = 'pack'), sum(p.kind = 'allowance'), sum(p.tokens),
  sum(p.amount), sum(p.refunded_amount), sum(p.disputed_amount), sum(max(0, p.amount - p.refunded_amount - p.disputed_amount))
FROM purchases p GROUP BY 1, 2, 3;
-- The funnel's paying count follows a user's first purchase to the anonymous accounts merged into it.
CREATE INDEX `accounts_merged_into_idx` ON `accounts` (`merged_into`) WHERE `merged_into` IS NOT NULL;
CREATE TRIGGER `stats_generations_insert` AFTER INSERT ON generations
BEGIN
  INSERT INTO stats_usage_daily (day, feature, model, site, status, payer, generations, spent)
  VALUES (NEW.created_at / 86400000, NEW.feature, coalesce(NEW.model, 'unknown'), NEW.site, NEW.status, CASE WHEN NEW.wallet_id IS NULL OR NEW.wallet_id = NEW.account_id THEN 'account' ELSE 'team' END, 1, 1 * NEW.charged)
  ON CONFLICT DO UPDATE SET generations = generations + excluded.generations, spent = spent + excluded.spent;
  INSERT INTO stats_generation_daily (day, latency_count, latency_sum, latency_max, cost_usd)
  SELECT NEW.created_at / 86400000, 1 * (NEW.latency_ms IS NOT NULL), 1 * coalesce(NEW.latency_ms, 0), NEW.latency_ms, 1 * coalesce(NEW.cost_usd, 0)
  WHERE NEW.latency_ms IS NOT NULL OR NEW.cost_usd IS NOT NULL
  ON CONFLICT DO UPDATE SET latency_count = latency_count + excluded.latency_count,
    latency_sum = latency_sum + excluded.latency_sum,
    latency_max = coalesce(max(latency_max, excluded.latency_max), latency_max, excluded.latency_max),
    cost_usd = cost_usd + excluded.cost_usd;
  INSERT INTO stats_timing_daily (day, metric, bucket, n)
  SELECT NEW.created_at / 86400000, 'latency', CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END, 1 WHERE NEW.latency_ms IS NOT NULL
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO stats_timing_daily (day, metric, bucket, n)
  SELECT NEW.created_at / 86400000, 'first_delta', CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END, 1 WHERE NEW.first_delta_ms IS NOT NULL
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER `stats_generations_update_usage` AFTER UPDATE OF feature, model, site, status, charged, wallet_id, account_id, created_at ON generations
WHEN OLD.feature IS NOT NEW.feature OR OLD.model IS NOT NEW.model OR OLD.site IS NOT NEW.site OR OLD.status IS NOT NEW.status OR OLD.charged IS NOT NEW.charged OR OLD.wallet_id IS NOT NEW.wallet_id OR OLD.account_id IS NOT NEW.account_id OR OLD.created_at IS NOT NEW.created_at
BEGIN
  INSERT INTO stats_usage_daily (day, feature, model, site, status, payer, generations, spent)
  VALUES (OLD.created_at / 86400000, OLD.feature, coalesce(OLD.model, 'unknown'), OLD.site, OLD.status, CASE WHEN OLD.wallet_id IS NULL OR OLD.wallet_id = OLD.account_id THEN 'account' ELSE 'team' END, -1, -1 * OLD.charged)
  ON CONFLICT DO UPDATE SET generations = generations + excluded.generations, spent = spent + excluded.spent;
  INSERT INTO stats_usage_daily (day, feature, model, site, status, payer, generations, spent)
  VALUES (NEW.created_at / 86400000, NEW.feature, coalesce(NEW.model, 'unknown'), NEW.site, NEW.status, CASE WHEN NEW.wallet_id IS NULL OR NEW.wallet_id = NEW.account_id THEN 'account' ELSE 'team' END, 1, 1 * NEW.charged)
  ON CONFLICT DO UPDATE SET generations = generations + excluded.generations, spent = spent + excluded.spent;
END;
CREATE TRIGGER `stats_generations_update_timing` AFTER UPDATE OF latency_ms, first_delta_ms, cost_usd, created_at ON generations
WHEN OLD.latency_ms IS NOT NEW.latency_ms OR OLD.first_delta_ms IS NOT NEW.first_delta_ms OR OLD.cost_usd IS NOT NEW.cost_usd OR OLD.created_at IS NOT NEW.created_at
BEGIN
  INSERT INTO stats_generation_daily (day, latency_count, latency_sum, latency_max, cost_usd)
  SELECT OLD.created_at / 86400000, -1 * (OLD.latency_ms IS NOT NULL), -1 * coalesce(OLD.latency_ms, 0), NULL, -1 * coalesce(OLD.cost_usd, 0)
  WHERE OLD.latency_ms IS NOT NULL OR OLD.cost_usd IS NOT NULL
  ON CONFLICT DO UPDATE SET latency_count = latency_count + excluded.latency_count,
    latency_sum = latency_sum + excluded.latency_sum,
    latency_max = coalesce(max(latency_max, excluded.latency_max), latency_max, excluded.latency_max),
    cost_usd = cost_usd + excluded.cost_usd;
  INSERT INTO stats_generation_daily (day, latency_count, latency_sum, latency_max, cost_usd)
  SELECT NEW.created_at / 86400000, 1 * (NEW.latency_ms IS NOT NULL), 1 * coalesce(NEW.latency_ms, 0), NEW.latency_ms, 1 * coalesce(NEW.cost_usd, 0)
  WHERE NEW.latency_ms IS NOT NULL OR NEW.cost_usd IS NOT NULL
  ON CONFLICT DO UPDATE SET latency_count = latency_count + excluded.latency_count,
    latency_sum = latency_sum + excluded.latency_sum,
    latency_max = coalesce(max(latency_max, excluded.latency_max), latency_max, excluded.latency_max),
    cost_usd = cost_usd + excluded.cost_usd;
  INSERT INTO stats_timing_daily (day, metric, bucket, n)
  SELECT OLD.created_at / 86400000, 'latency', CASE WHEN CAST(OLD.latency_ms AS INTEGER) < 100 THEN CAST(OLD.latency_ms AS INTEGER) WHEN CAST(OLD.latency_ms AS INTEGER) < 1000 THEN CAST(OLD.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.latency_ms AS INTEGER) < 10000 THEN CAST(OLD.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.latency_ms AS INTEGER) < 100000 THEN CAST(OLD.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.latency_ms AS INTEGER) / 10000 * 10000 END, -1 WHERE OLD.latency_ms IS NOT NULL AND (OLD.latency_ms IS NOT NEW.latency_ms OR OLD.created_at / 86400000 IS NOT NEW.created_at / 86400000)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO stats_timing_daily (day, metric, bucket, n)
  SELECT NEW.created_at / 86400000, 'latency', CASE WHEN CAST(NEW.latency_ms AS INTEGER) < 100 THEN CAST(NEW.latency_ms AS INTEGER) WHEN CAST(NEW.latency_ms AS INTEGER) < 1000 THEN CAST(NEW.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.latency_ms AS INTEGER) < 10000 THEN CAST(NEW.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.latency_ms AS INTEGER) < 100000 THEN CAST(NEW.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.latency_ms AS INTEGER) / 10000 * 10000 END, 1 WHERE NEW.latency_ms IS NOT NULL AND (OLD.latency_ms IS NOT NEW.latency_ms OR OLD.created_at / 86400000 IS NOT NEW.created_at / 86400000)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO stats_timing_daily (day, metric, bucket, n)
  SELECT OLD.created_at / 86400000, 'first_delta', CASE WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100 THEN CAST(OLD.first_delta_ms AS INTEGER) WHEN CAST(OLD.first_delta_ms AS INTEGER) < 1000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 10000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.first_delta_ms AS INTEGER) / 10000 * 10000 END, -1 WHERE OLD.first_delta_ms IS NOT NULL AND (OLD.first_delta_ms IS NOT NEW.first_delta_ms OR OLD.created_at / 86400000 IS NOT NEW.created_at / 86400000)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO stats_timing_daily (day, metric, bucket, n)
  SELECT NEW.created_at / 86400000, 'first_delta', CASE WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100 THEN CAST(NEW.first_delta_ms AS INTEGER) WHEN CAST(NEW.first_delta_ms AS INTEGER) < 1000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 10000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(NEW.first_delta_ms AS INTEGER) < 100000 THEN CAST(NEW.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(NEW.first_delta_ms AS INTEGER) / 10000 * 10000 END, 1 WHERE NEW.first_delta_ms IS NOT NULL AND (OLD.first_delta_ms IS NOT NEW.first_delta_ms OR OLD.created_at / 86400000 IS NOT NEW.created_at / 86400000)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER `stats_generations_delete` AFTER DELETE ON generations
BEGIN
  INSERT INTO stats_usage_daily (day, feature, model, site, status, payer, generations, spent)
  VALUES (OLD.created_at / 86400000, OLD.feature, coalesce(OLD.model, 'unknown'), OLD.site, OLD.status, CASE WHEN OLD.wallet_id IS NULL OR OLD.wallet_id = OLD.account_id THEN 'account' ELSE 'team' END, -1, -1 * OLD.charged)
  ON CONFLICT DO UPDATE SET generations = generations + excluded.generations, spent = spent + excluded.spent;
  INSERT INTO stats_generation_daily (day, latency_count, latency_sum, latency_max, cost_usd)
  SELECT OLD.created_at / 86400000, -1 * (OLD.latency_ms IS NOT NULL), -1 * coalesce(OLD.latency_ms, 0), NULL, -1 * coalesce(OLD.cost_usd, 0)
  WHERE OLD.latency_ms IS NOT NULL OR OLD.cost_usd IS NOT NULL
  ON CONFLICT DO UPDATE SET latency_count = latency_count + excluded.latency_count,
    latency_sum = latency_sum + excluded.latency_sum,
    latency_max = coalesce(max(latency_max, excluded.latency_max), latency_max, excluded.latency_max),
    cost_usd = cost_usd + excluded.cost_usd;
  INSERT INTO stats_timing_daily (day, metric, bucket, n)
  SELECT OLD.created_at / 86400000, 'latency', CASE WHEN CAST(OLD.latency_ms AS INTEGER) < 100 THEN CAST(OLD.latency_ms AS INTEGER) WHEN CAST(OLD.latency_ms AS INTEGER) < 1000 THEN CAST(OLD.latency_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.latency_ms AS INTEGER) < 10000 THEN CAST(OLD.latency_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.latency_ms AS INTEGER) < 100000 THEN CAST(OLD.latency_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.latency_ms AS INTEGER) / 10000 * 10000 END, -1 WHERE OLD.latency_ms IS NOT NULL
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO stats_timing_daily (day, metric, bucket, n)
  SELECT OLD.created_at / 86400000, 'first_delta', CASE WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100 THEN CAST(OLD.first_delta_ms AS INTEGER) WHEN CAST(OLD.first_delta_ms AS INTEGER) < 1000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 10 * 10 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 10000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 100 * 100 WHEN CAST(OLD.first_delta_ms AS INTEGER) < 100000 THEN CAST(OLD.first_delta_ms AS INTEGER) / 1000 * 1000 ELSE CAST(OLD.first_delta_ms AS INTEGER) / 10000 * 10000 END, -1 WHERE OLD.first_delta_ms IS NOT NULL
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER `stats_ledger_insert` AFTER INSERT ON ledger_entries
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
CREATE TRIGGER `stats_accounts_insert` AFTER INSERT ON accounts
BEGIN
  INSERT INTO stats_accounts_daily (day, event, n) VALUES (NEW.created_at / 86400000, NEW.kind, 1)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO stats_funnel_daily (day, anonymous, signed_up, paying)
  SELECT NEW.created_at / 86400000, 1, 1 * (NEW.merged_into IS NOT NULL), 1 * (CASE WHEN NEW.merged_into IS NOT NULL AND EXISTS (SELECT 1 FROM purchases p WHERE p.account_id = NEW.merged_into AND NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = p.checkout_session_id AND c.demo = 1)) THEN 1 ELSE 0 END) WHERE NEW.kind = 'anonymous'
  ON CONFLICT DO UPDATE SET anonymous = anonymous + excluded.anonymous, signed_up = signed_up + excluded.signed_up,
    paying = paying + excluded.paying;
END;
CREATE TRIGGER `stats_accounts_update_kind` AFTER UPDATE OF kind, created_at ON accounts
WHEN OLD.kind IS NOT NEW.kind OR OLD.created_at IS NOT NEW.created_at
BEGIN
  INSERT INTO stats_accounts_daily (day, event, n) VALUES (OLD.created_at / 86400000, OLD.kind, -1)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO stats_accounts_daily (day, event, n) VALUES (NEW.created_at / 86400000, NEW.kind, 1)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER `stats_accounts_update_funnel` AFTER UPDATE OF kind, merged_into, created_at ON accounts
WHEN OLD.kind IS NOT NEW.kind OR OLD.merged_into IS NOT NEW.merged_into OR OLD.created_at IS NOT NEW.created_at
BEGIN
  INSERT INTO stats_funnel_daily (day, anonymous, signed_up, paying)
  SELECT OLD.created_at / 86400000, -1, -1 * (OLD.merged_into IS NOT NULL), -1 * (CASE WHEN OLD.merged_into IS NOT NULL AND EXISTS (SELECT 1 FROM purchases p WHERE p.account_id = OLD.merged_into AND NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = p.checkout_session_id AND c.demo = 1)) THEN 1 ELSE 0 END) WHERE OLD.kind = 'anonymous'
  ON CONFLICT DO UPDATE SET anonymous = anonymous + excluded.anonymous, signed_up = signed_up + excluded.signed_up,
    paying = paying + excluded.paying;
  INSERT INTO stats_funnel_daily (day, anonymous, signed_up, paying)
  SELECT NEW.created_at / 86400000, 1, 1 * (NEW.merged_into IS NOT NULL), 1 * (CASE WHEN NEW.merged_into IS NOT NULL AND EXISTS (SELECT 1 FROM purchases p WHERE p.account_id = NEW.merged_into AND NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = p.checkout_session_id AND c.demo = 1)) THEN 1 ELSE 0 END) WHERE NEW.kind = 'anonymous'
  ON CONFLICT DO UPDATE SET anonymous = anonymous + excluded.anonymous, signed_up = signed_up + excluded.signed_up,
    paying = paying + excluded.paying;
END;
CREATE TRIGGER `stats_accounts_delete` AFTER DELETE ON accounts
BEGIN
  INSERT INTO stats_accounts_daily (day, event, n) VALUES (OLD.created_at / 86400000, OLD.kind, -1)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO stats_funnel_daily (day, anonymous, signed_up, paying)
  SELECT OLD.created_at / 86400000, -1, -1 * (OLD.merged_into IS NOT NULL), -1 * (CASE WHEN OLD.merged_into IS NOT NULL AND EXISTS (SELECT 1 FROM purchases p WHERE p.account_id = OLD.merged_into AND NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = p.checkout_session_id AND c.demo = 1)) THEN 1 ELSE 0 END) WHERE OLD.kind = 'anonymous'
  ON CONFLICT DO UPDATE SET anonymous = anonymous + excluded.anonymous, signed_up = signed_up + excluded.signed_up,
    paying = paying + excluded.paying;
END;
CREATE TRIGGER `stats_purchases_insert` AFTER INSERT ON purchases
BEGIN
  INSERT INTO stats_revenue_daily (day, currency, demo, purchases, packs, allowances, tokens, gross, refunded, disputed, net)
  VALUES (NEW.created_at / 86400000, NEW.currency, EXISTS (SELECT 1 FROM checkouts c WHERE c.id = NEW.checkout_session_id AND c.demo = 1), 1, 1 * (NEW.kind = 'pack'), 1 * (NEW.kind = 'allowance'), 1 * NEW.tokens,
    1 * NEW.amount, 1 * NEW.refunded_amount, 1 * NEW.disputed_amount,
    1 * max(0, NEW.amount - NEW.refunded_amount - NEW.disputed_amount))
  ON CONFLICT DO UPDATE SET purchases = purchases + excluded.purchases, packs = packs + excluded.packs,
    allowances = allowances + excluded.allowances, tokens = tokens + excluded.tokens, gross = gross + excluded.gross,
    refunded = refunded + excluded.refunded, disputed = disputed + excluded.disputed, net = net + excluded.net;
  -- The account's first real-money purchase: counted on its day, and its merged anonymous accounts now pay.
  INSERT INTO stats_accounts_daily (day, event, n)
  SELECT NEW.created_at / 86400000, 'first_purchase', 1 WHERE NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = NEW.checkout_session_id AND c.demo = 1) AND coalesce((SELECT min(p.created_at) FROM purchases p WHERE p.account_id = NEW.account_id AND p.id <> NEW.id AND NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = p.checkout_session_id AND c.demo = 1)) > NEW.created_at, 1)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO stats_accounts_daily (day, event, n)
  SELECT (SELECT min(p.created_at) FROM purchases p WHERE p.account_id = NEW.account_id AND p.id <> NEW.id AND NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = p.checkout_session_id AND c.demo = 1)) / 86400000, 'first_purchase', -1 WHERE NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = NEW.checkout_session_id AND c.demo = 1) AND (SELECT min(p.created_at) FROM purchases p WHERE p.account_id = NEW.account_id AND p.id <> NEW.id AND NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = p.checkout_session_id AND c.demo = 1)) > NEW.created_at
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO stats_funnel_daily (day, anonymous, signed_up, paying)
  SELECT a.created_at / 86400000, 0, 0, count(*) FROM accounts a
  WHERE a.merged_into = NEW.account_id AND a.kind = 'anonymous' AND NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = NEW.checkout_session_id AND c.demo = 1) AND (SELECT min(p.created_at) FROM purchases p WHERE p.account_id = NEW.account_id AND p.id <> NEW.id AND NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = p.checkout_session_id AND c.demo = 1)) IS NULL
  GROUP BY 1
  ON CONFLICT DO UPDATE SET paying = paying + excluded.paying;
END;
CREATE TRIGGER `stats_purchases_update` AFTER UPDATE OF amount, refunded_amount, disputed_amount, tokens, kind, currency, checkout_session_id, created_at ON purchases
WHEN OLD.amount IS NOT NEW.amount OR OLD.refunded_amount IS NOT NEW.refunded_amount OR OLD.disputed_amount IS NOT NEW.disputed_amount OR OLD.tokens IS NOT NEW.tokens OR OLD.kind IS NOT NEW.kind OR OLD.currency IS NOT NEW.currency OR OLD.checkout_session_id IS NOT NEW.checkout_session_id OR OLD.created_at IS NOT NEW.created_at
BEGIN
  INSERT INTO stats_revenue_daily (day, currency, demo, purchases, packs, allowances, tokens, gross, refunded, disputed, net)
  VALUES (OLD.created_at / 86400000, OLD.currency, EXISTS (SELECT 1 FROM checkouts c WHERE c.id = OLD.checkout_session_id AND c.demo = 1), -1, -1 * (OLD.kind = 'pack'), -1 * (OLD.kind = 'allowance'), -1 * OLD.tokens,
    -1 * OLD.amount, -1 * OLD.refunded_amount, -1 * OLD.disputed_amount,
    -1 * max(0, OLD.amount - OLD.refunded_amount - OLD.disputed_amount))
  ON CONFLICT DO UPDATE SET purchases = purchases + excluded.purchases, packs = packs + excluded.packs,
    allowances = allowances + excluded.allowances, tokens = tokens + excluded.tokens, gross = gross + excluded.gross,
    refunded = refunded + excluded.refunded, disputed = disputed + excluded.disputed, net = net + excluded.net;
  INSERT INTO stats_revenue_daily (day, currency, demo, purchases, packs, allowances, tokens, gross, refunded, disputed, net)
  VALUES (NEW.created_at / 86400000, NEW.currency, EXISTS (SELECT 1 FROM checkouts c WHERE c.id = NEW.checkout_session_id AND c.demo = 1), 1, 1 * (NEW.kind = 'pack'), 1 * (NEW.kind = 'allowance'), 1 * NEW.tokens,
    1 * NEW.amount, 1 * NEW.refunded_amount, 1 * NEW.disputed_amount,
    1 * max(0, NEW.amount - NEW.refunded_amount - NEW.disputed_amount))
  ON CONFLICT DO UPDATE SET purchases = purchases + excluded.purchases, packs = packs + excluded.packs,
    allowances = allowances + excluded.allowances, tokens = tokens + excluded.tokens, gross = gross + excluded.gross,
    refunded = refunded + excluded.refunded, disputed = disputed + excluded.disputed, net = net + excluded.net;
END;
CREATE TRIGGER `stats_purchases_delete` AFTER DELETE ON purchases
BEGIN
  INSERT INTO stats_revenue_daily (day, currency, demo, purchases, packs, allowances, tokens, gross, refunded, disputed, net)
  VALUES (OLD.created_at / 86400000, OLD.currency, EXISTS (SELECT 1 FROM checkouts c WHERE c.id = OLD.checkout_session_id AND c.demo = 1), -1, -1 * (OLD.kind = 'pack'), -1 * (OLD.kind = 'allowance'), -1 * OLD.tokens,
    -1 * OLD.amount, -1 * OLD.refunded_amount, -1 * OLD.disputed_amount,
    -1 * max(0, OLD.amount - OLD.refunded_amount - OLD.disputed_amount))
  ON CONFLICT DO UPDATE SET purchases = purchases + excluded.purchases, packs = packs + excluded.packs,
    allowances = allowances + excluded.allowances, tokens = tokens + excluded.tokens, gross = gross + excluded.gross,
    refunded = refunded + excluded.refunded, disputed = disputed + excluded.disputed, net = net + excluded.net;
END;
