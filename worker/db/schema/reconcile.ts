import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Reconcile's memory (worker/wallet/reconcile.ts; docs/decisions/016-scale.md):
 * one row per wallet that has a ledger. `dirty` is set by triggers on
 * `ledger_entries` and `wallets` (migration "reconcile_marks") whenever D1's
 * side of a verified wallet changes, and cleared by a clean check; a partial
 * index on dirty rows (same migration) lets a run list the changed wallets
 * without reading the others.
 */
export const walletChecks = sqliteTable("wallet_checks", {
  walletId: text().primaryKey(),
  dirty: integer().notNull().default(1),
  /** D1's clock when dirty was last set: a check started before it does not clear it. */
  markedAt: integer().notNull().default(0),
  /** The wallet's last seq at the last clean check (0: never verified)… */
  verifiedSeq: integer().notNull().default(0),
  /** …and what D1's entries up to it summed to, so the next check adds only newer ones. */
  verifiedSum: integer().notNull().default(0),
  /** 1 once an entry was edited or deleted since: the next check sums everything again. */
  tampered: integer().notNull().default(0),
  verifiedAt: integer({ mode: "timestamp_ms" }),
});

/** Small named values reconcile keeps between runs (the rotating sample's cursor). */
export const reconcileState = sqliteTable("reconcile_state", {
  key: text().primaryKey(),
  value: text().notNull(),
});
