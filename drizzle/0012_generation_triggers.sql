-- 0011 rebuilt `generations` (key, hash and prompt may be null: newer rows are
-- metadata only, docs/decisions/018); dropping the old table dropped its
-- rollup triggers, so they are created again exactly as 0009 made them.
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
