import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * GCRA state per limited key (worker/lib/rate-limit.ts): one "theoretical
 * arrival time" per key, so a check is a single atomic upsert.
 */
export const rateLimits = sqliteTable("rate_limits", {
  key: text().primaryKey(), // e.g. "generate:acc:acc_…", "generate:ip:203.0.113.7"
  tat: integer().notNull(), // epoch ms
});
