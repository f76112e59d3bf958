import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Per-feature prices, editable by admins (docs/architecture.md, "The wallet").
 * A feature without a row costs its default (worker/billing/pricing.ts), so a
 * fresh database needs no seed.
 */
export const featurePrices = sqliteTable("feature_prices", {
  feature: text().primaryKey(), // generate | refine | subtasks
  /** Tokens charged for every completed generation. */
  baseCost: integer().notNull(),
  /** Usage part: one more token per this many output tokens the model reports; null = none. */
  usageOutputTokensPerToken: integer(),
  /** Cap of the usage part, so the maximum cost (what is held) is known up front. */
  usageMaxCost: integer().notNull().default(0),
  /** Plans (subscription ids) allowed to use the feature; null = everyone. */
  plans: text({ mode: "json" }).$type<string[]>(),
  updatedAt: integer({ mode: "timestamp_ms" }).notNull(),
});
