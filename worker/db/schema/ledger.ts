import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, sqliteView, text } from "drizzle-orm/sqlite-core";

/**
 * Every wallet that exists (one per account for now, teams later). The
 * balance itself lives in the wallet's Durable Object; this row lets
 * reconcile enumerate wallets.
 */
export const wallets = sqliteTable("wallets", {
  id: text().primaryKey(),
  accountId: text().notNull(),
  createdAt: integer({ mode: "timestamp_ms" }).notNull(),
});

export const LEDGER_TYPES = [
  "grant",
  "welcome",
  "transfer_in",
  "transfer_out",
  "purchase",
  "allowance",
  "promo",
  "usage",
  "refund",
  "adjustment",
  "expiry",
  "chargeback",
] as const;
export type LedgerType = (typeof LEDGER_TYPES)[number];

/**
 * The ledger of record: immutable, one row per balance change, written only by
 * the wallet object through its outbox. `sum(amount)` per wallet equals the
 * wallet's balance (worker/wallet/reconcile.ts checks it).
 *
 * The key is (wallet, seq): the wallet numbers its entries 1, 2, 3… with no
 * gaps, so an outbox retry is `ON CONFLICT DO NOTHING` on the key and cannot
 * duplicate, and newest-first pagination reads the same index. `id` (txn_…)
 * is the public id but deliberately has no index of its own: every index here
 * is one more D1 row written per entry, and nothing looks entries up by id
 * (docs/decisions/001-wallet.md, "Rows written"). The table is WITHOUT ROWID
 * (migration "d1_rows"; drizzle cannot say so): the key is the row, so an
 * entry is one D1 row written, not a rowid row plus the key's index.
 */
export const ledgerEntries = sqliteTable(
  "ledger_entries",
  {
    walletId: text().notNull(),
    /** 1, 2, 3… per wallet: the order of changes and the pagination cursor. */
    seq: integer().notNull(),
    /** txn_…; null on a folded generation's entry: `txn_` + its generation id's rest. */
    id: text(),
    type: text({ enum: LEDGER_TYPES }).notNull(),
    amount: integer().notNull(),
    balanceAfter: integer().notNull(),
    grantId: text(),
    holdId: text(),
    /** What caused it: a generation id, Stripe event id, promo code, admin reason… */
    reference: text(),
    idempotencyKey: text(),
    /** Null on a folded generation's entry: derived from its feature and site (worker/lib/entries.ts). */
    description: text(),
    feature: text(),
    generationId: text(),
    /** The team member whose hold this usage settled; null outside team spend. */
    memberId: text(),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
    /**
     * 1: a usage entry written in the same D1 batch as its generation's row
     * (generations.usage_seq points here), counted in that generation's usage
     * rollup row instead of a stats_ledger_daily row of its own.
     */
    generationRollup: integer().notNull().default(0),
    /*
     * generation_rollup = 2: the entry is also its generation's D1 metadata
     * (a charged generation paid by the account's own wallet is one D1 row,
     * docs/decisions/021-d1-bytes.md; so is a team's, on the team's entry
     * naming the member, docs/decisions/025-team-fold.md). Its id, hold id, reference, key and
     * description are then null when they are what they derive to
     * (worker/lib/entries.ts); the columns below carry what D1 needs of the
     * generation across accounts. Its rollup row is written by the entry's
     * trigger. Everything else about the generation is in the account's object.
     */
    /** The generation's account when not the wallet's (moved at sign-in; the member on a team's entry). */
    accountId: text(),
    sessionId: text(),
    site: text(),
    model: text(),
    /** The generation's status when not `succeeded`. */
    status: text(),
    latencyMs: integer(),
    firstDeltaMs: integer(),
    costUsd: real(),
    /** The generation's own created_at (the entry's is its settle). */
    startedAt: integer({ mode: "timestamp_ms" }),
  },
  (t) => [
    primaryKey({ columns: [t.walletId, t.seq] }),
    // Only folded entries moved to another account at sign-in have account_id.
    index("ledger_entries_account_idx").on(t.accountId).where(sql`${t.accountId} IS NOT NULL`),
  ],
);

/**
 * Mirror of the wallet's grants for queries and admin views. The wallet object
 * is authoritative; `remaining` (not yet burned: the grant's remainder plus
 * what open holds took from it) is refreshed with each ledger flush, so it
 * changes only when the ledger does.
 */
export const grants = sqliteTable(
  "grants",
  {
    id: text().primaryKey(), // grt_…
    walletId: text().notNull(),
    source: text().notNull(),
    amount: integer().notNull(),
    remaining: integer().notNull(),
    /** Lower burns first among grants with the same expiry (free 0, paid 1). */
    priority: integer().notNull(),
    expiresAt: integer({ mode: "timestamp_ms" }),
    reference: text(),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("grants_wallet_idx").on(t.walletId)],
);

/**
 * Every generation D1 knows, whichever row carries it: the `generations` rows
 * (failed, unconfirmed, legacy, written by the Worker) and the folded entries
 * (migrations "d1_bytes", "team_fold": a team's is the member's, paid by the team). Only the columns D1's readers use across accounts;
 * a filter on account_id or wallet_id reaches each part through its index.
 */
export const generationMeta = sqliteView("generation_meta", {
  id: text().notNull(),
  accountId: text().notNull(),
  walletId: text(),
  sessionId: text(),
  site: text().notNull(),
  feature: text().notNull(),
  model: text(),
  status: text({ enum: ["pending", "succeeded", "failed", "cancelled"] }).notNull(),
  charged: integer().notNull(),
  latencyMs: integer(),
  firstDeltaMs: integer(),
  costUsd: real(),
  createdAt: integer({ mode: "timestamp_ms" }).notNull(),
}).existing();
