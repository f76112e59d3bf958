import { sql } from "drizzle-orm";
import { index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** One ticket generation: what was asked, what came back, what it cost. */
export const generations = sqliteTable(
  "generations",
  {
    id: text().primaryKey(), // gen_…
    accountId: text().notNull(),
    /** The wallet that paid: null for the caller's own, otherwise the team's id. */
    walletId: text(),
    /**
     * The session that asked for it. A visitor id is not a secret, so an
     * anonymous session sees only the generations made through itself.
     */
    sessionId: text(),
    /**
     * Rows written before the account's wallet object kept its generations
     * (docs/decisions/018) carry their key, hash and content here; newer rows
     * are metadata only: the object holds the key, the prompt and the ticket.
     */
    idempotencyKey: text(),
    /** SHA-256 of the request body, to refuse a reused key with another body. */
    requestHash: text(),
    site: text().notNull(),
    feature: text().notNull(),
    issueType: text().notNull(),
    prompt: text(),
    context: text({ mode: "json" }),
    title: text(),
    description: text(),
    output: text(),
    model: text(),
    /** OpenRouter's id of the generation (its X-Generation-Id), to look it up there. */
    upstreamId: text(),
    status: text({ enum: ["pending", "succeeded", "failed", "cancelled"] }).notNull(),
    errorCode: text(),
    held: integer().notNull().default(0),
    charged: integer().notNull().default(0),
    inputTokens: integer(),
    outputTokens: integer(),
    /** What the model provider billed us, in USD, when it reports it. */
    costUsd: real(),
    /** Time from the request to the first delta, and to completion. */
    firstDeltaMs: integer(),
    latencyMs: integer(),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
    completedAt: integer({ mode: "timestamp_ms" }),
    /**
     * The seq of its usage entry in its wallet's ledger, when the wallet wrote
     * both in one D1 batch: the usage rollup row then counts that entry too
     * (migration "d1_rows", docs/decisions/019-d1-rows.md). Set once.
     */
    usageSeq: integer(),
  },
  /*
   * Every index is one more D1 row written per generation, so those only some
   * rows need are partial (docs/decisions/019-d1-rows.md). The table itself is
   * WITHOUT ROWID (migration "d1_rows"; drizzle cannot say so): the key is the
   * row, not a rowid row plus an index on id.
   */
  (t) => [
    index("generations_account_idx").on(t.accountId, t.id),
    // Rows written before the wallet object kept the key: there the insert of
    // a pending row was the idempotency lock. Metadata rows have no key.
    uniqueIndex("generations_account_key_unique")
      .on(t.accountId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} IS NOT NULL`),
    // What the cron sweeps: rows still pending, or whose charge was not confirmed.
    index("generations_open_idx")
      .on(t.createdAt)
      .where(sql`${t.status} = 'pending' OR ${t.errorCode} = 'charge_unconfirmed'`),
    // Team spend only: an account's own generations have no wallet_id.
    index("generations_wallet_idx").on(t.walletId, t.createdAt).where(sql`${t.walletId} IS NOT NULL`),
  ],
);
