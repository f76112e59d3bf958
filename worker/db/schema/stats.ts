import { integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/*
 * Daily rollups behind `GET /admin/stats` (docs/decisions/016-scale.md). SQLite
 * triggers keep them in the same write as the rows they count (drizzle
 * migration "stats_rollups"), so every code path that writes generations,
 * ledger entries, accounts or purchases is counted without knowing about
 * them. `day` is the UTC day number, created_at / 86 400 000. The tables are
 * WITHOUT ROWID (set in that migration's SQL, which drizzle cannot express):
 * the key is the row, so an upsert is one D1 row written, not two.
 */

/** Generations by day and key: what `usage` and `generations` report. */
export const statsUsageDaily = sqliteTable(
  "stats_usage_daily",
  {
    day: integer().notNull(),
    feature: text().notNull(),
    /** 'unknown' where the generation has no model yet. */
    model: text().notNull(),
    site: text().notNull(),
    status: text().notNull(),
    /** Who paid: 'account' (its own wallet) or 'team' (generations.wallet_id set). */
    payer: text().notNull(),
    generations: integer().notNull().default(0),
    spent: integer().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.day, t.feature, t.model, t.site, t.status, t.payer] })],
);

/** One row per day: latency totals and the upstream cost. */
export const statsGenerationDaily = sqliteTable("stats_generation_daily", {
  day: integer().primaryKey(),
  latencyCount: integer().notNull().default(0),
  latencySum: integer().notNull().default(0),
  /** Only grows: a latency that is later lowered or removed leaves the old maximum. */
  latencyMax: integer(),
  costUsd: real().notNull().default(0),
});

/**
 * Histogram of a timing ('latency' or 'first_delta') per day: `bucket` is the
 * value floored to two significant digits (exact below 100 ms), so a
 * percentile read from it is the scan's value floored the same way.
 */
export const statsTimingDaily = sqliteTable(
  "stats_timing_daily",
  {
    day: integer().notNull(),
    metric: text().notNull(),
    bucket: integer().notNull(),
    n: integer().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.day, t.metric, t.bucket] })],
);

/** Net ledger movement by day and entry type. */
export const statsLedgerDaily = sqliteTable(
  "stats_ledger_daily",
  {
    day: integer().notNull(),
    type: text().notNull(),
    amount: integer().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.day, t.type] })],
);

/**
 * Account events by day: 'anonymous' and 'user' (accounts made, by kind) and
 * 'first_purchase' (accounts whose first real-money purchase fell that day).
 */
export const statsAccountsDaily = sqliteTable(
  "stats_accounts_daily",
  {
    day: integer().notNull(),
    event: text().notNull(),
    n: integer().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.day, t.event] })],
);

/** The funnel's cohort by the day its anonymous accounts were made. */
export const statsFunnelDaily = sqliteTable("stats_funnel_daily", {
  day: integer().primaryKey(),
  anonymous: integer().notNull().default(0),
  signedUp: integer().notNull().default(0),
  paying: integer().notNull().default(0),
});

/** Purchases by the day they were made, per currency; `demo` 1 for local demo checkouts. */
export const statsRevenueDaily = sqliteTable(
  "stats_revenue_daily",
  {
    day: integer().notNull(),
    currency: text().notNull(),
    demo: integer().notNull(),
    purchases: integer().notNull().default(0),
    packs: integer().notNull().default(0),
    allowances: integer().notNull().default(0),
    tokens: integer().notNull().default(0),
    gross: integer().notNull().default(0),
    refunded: integer().notNull().default(0),
    disputed: integer().notNull().default(0),
    net: integer().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.day, t.currency, t.demo] })],
);
