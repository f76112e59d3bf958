import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Every admin write: who (a fingerprint of the admin token, never the token),
 * what, to what, and the state before and after. Rows are only ever inserted.
 */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: text().primaryKey(), // aud_…; time-sortable, the pagination cursor
    /** First hex digits of SHA-256(admin token): tells tokens apart without revealing one. */
    actor: text().notNull(),
    /** `account.adjust`, `account.block`, `promo.create`, `pricing.update`… */
    action: text().notNull(),
    /** What the write changed: an account id, a promo code, `pricing`. */
    target: text().notNull(),
    before: text({ mode: "json" }),
    after: text({ mode: "json" }),
    /**
     * Set for writes that carry an idempotency key (adjustments): a retry that
     * replays the wallet's result records the audit once, not twice.
     */
    key: text(),
    requestId: text(),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
  },
  (t) => [uniqueIndex("audit_log_key_unique").on(t.key), index("audit_log_target_idx").on(t.target, t.id)],
);
