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

/**
 * Generations by day and key: what `usage`, `generations` and `latency`
 * report. One row per generation written (docs/decisions/019-d1-rows.md):
 * the latency totals, the upstream cost and both timing histograms are
 * columns of this row, and so is the usage entry written with the
 * generation (`ledger`), instead of rows of their own.
 */
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
    latencyCount: integer().notNull().default(0),
    latencySum: integer().notNull().default(0),
    /** Only grows: a latency that is later lowered or removed leaves the old maximum. */
    latencyMax: integer(),
    costUsd: real().notNull().default(0),
    /**
     * Histograms of latency and of the first delta, as a JSON object from
     * bucket to count: `bucket` is the value floored to two significant
     * digits (exact below 100 ms), so a percentile read from it is the scan's
     * value floored the same way.
     */
    latencyHist: text(),
    firstDeltaHist: text(),
    /**
     * Usage ledger entries of that day counted here rather than in
     * stats_ledger_daily (ledger_entries.generation_rollup = 1).
     */
    ledger: integer().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.day, t.feature, t.model, t.site, t.status, t.payer] })],
);

/** Net ledger movement by day and entry type (usage entries counted with their generation aside). */
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
