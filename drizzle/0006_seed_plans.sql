-- Default plans (issue 6). Admins edit them through /admin/pricing; prices in cents.
INSERT OR IGNORE INTO `plans` (`id`, `kind`, `name`, `tokens`, `price_amount`, `currency`, `popular`, `rollover_percent`, `features`, `active`, `sort_order`, `updated_at`) VALUES
  ('starter', 'pack', 'Starter', 10, 500, 'usd', 0, 0, '[]', 1, 10, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
  ('professional', 'pack', 'Professional', 50, 1900, 'usd', 1, 0, '[]', 1, 20, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
  ('enterprise', 'pack', 'Enterprise', 200, 5900, 'usd', 0, 0, '[]', 1, 30, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
  ('pro', 'subscription', 'Pro', 100, 1500, 'usd', 0, 50, '["generate","refine","subtasks"]', 1, 40, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
  ('team', 'subscription', 'Team', 500, 4900, 'usd', 0, 50, '["generate","refine","subtasks"]', 1, 50, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
