import { z } from "zod";
import type { Db } from "../db/client";
import { featurePrices } from "../db/schema";

export const FEATURES = ["generate", "refine", "subtasks"] as const;
export type Feature = (typeof FEATURES)[number];

/** What one feature costs, in tokens (docs/architecture.md, "The wallet"). */
export interface FeaturePrice {
  /** Charged for every completed generation. */
  baseCost: number;
  /**
   * Optional usage part: one more token per this many output tokens the model
   * reports, capped at `usageMaxCost`. Null: the base cost is the whole price.
   */
  usageOutputTokensPerToken: number | null;
  usageMaxCost: number;
  /** Subscription plans allowed to use the feature; null: every account. */
  plans: string[] | null;
}

export type Pricing = Record<Feature, FeaturePrice>;

/** Used for any feature without a row in `feature_prices`. */
export const DEFAULT_PRICING: Pricing = {
  generate: { baseCost: 1, usageOutputTokensPerToken: null, usageMaxCost: 0, plans: null },
  refine: { baseCost: 1, usageOutputTokensPerToken: null, usageMaxCost: 0, plans: null },
  subtasks: { baseCost: 2, usageOutputTokensPerToken: null, usageMaxCost: 0, plans: null },
};

type FeaturePriceRow = typeof featurePrices.$inferSelect;

/** The pricing rows, for a caller that folds the read into a larger D1 batch. */
export function pricingQuery(d: Db) {
  return d.select().from(featurePrices);
}

/** The pricing table from the rows of `pricingQuery`; features without a row keep their default. */
export function pricingFrom(rows: FeaturePriceRow[]): Pricing {
  const pricing = structuredClone(DEFAULT_PRICING);
  for (const row of rows) {
    if (!(FEATURES as readonly string[]).includes(row.feature)) continue;
    pricing[row.feature as Feature] = {
      baseCost: row.baseCost,
      usageOutputTokensPerToken: row.usageOutputTokensPerToken,
      usageMaxCost: row.usageOutputTokensPerToken === null ? 0 : row.usageMaxCost,
      plans: row.plans ?? null,
    };
  }
  return pricing;
}

export async function getPricing(d: Db): Promise<Pricing> {
  return pricingFrom(await pricingQuery(d));
}

/**
 * The pricing this isolate read last, only ever used as a guess: generation
 * holds tokens at this price while the same D1 batch that runs its checks
 * reads the current rows, and holds again in the rare case they differ. So a
 * price change applies to the next request on every isolate, with no D1 round
 * trip before the hold.
 */
let lastSeen: Pricing = DEFAULT_PRICING;

export function lastSeenPricing(): Pricing {
  return lastSeen;
}

export function rememberPricing(pricing: Pricing): Pricing {
  lastSeen = pricing;
  return pricing;
}

/** Back to the built-in guess (tests: an isolate that has not read pricing yet). */
export function forgetSeenPricing() {
  lastSeen = DEFAULT_PRICING;
}

const featurePriceInput = z
  .object({
    baseCost: z.number().int().min(1).max(1000),
    usageOutputTokensPerToken: z.number().int().min(1).max(1_000_000).nullable().default(null),
    usageMaxCost: z.number().int().min(0).max(1000).default(0),
    plans: z.array(z.string().min(1).max(64)).min(1).max(50).nullable().default(null),
  })
  .refine((p) => p.usageOutputTokensPerToken !== null || p.usageMaxCost === 0, {
    message: "usageMaxCost needs usageOutputTokensPerToken.",
    path: ["usageMaxCost"],
  });

/**
 * The body of `PUT /admin/pricing` for feature costs: any subset of features,
 * each replaced whole. `{features: {subtasks: {baseCost: 3}}}`.
 */
export const pricingUpdateSchema = z.object({
  features: z
    .object({
      generate: featurePriceInput.optional(),
      refine: featurePriceInput.optional(),
      subtasks: featurePriceInput.optional(),
    })
    .strict(),
});
export type PricingUpdate = z.infer<typeof pricingUpdateSchema>;

/** Applies an admin's pricing change (already validated) and returns the new table. */
export async function updatePricing(d: Db, input: PricingUpdate, now = new Date()): Promise<Pricing> {
  const statements = Object.entries(input.features).flatMap(([feature, price]) => {
    if (!price) return [];
    const values = { ...price, updatedAt: now };
    return [
      d
        .insert(featurePrices)
        .values({ feature, ...values })
        .onConflictDoUpdate({ target: featurePrices.feature, set: values }),
    ];
  });
  const [first, ...rest] = statements;
  if (first) await d.batch([first, ...rest]);
  return rememberPricing(await getPricing(d));
}

/** The most a generation of this feature can cost: what is held before the model runs. */
export function maxCost(price: FeaturePrice): number {
  return price.baseCost + (price.usageOutputTokensPerToken === null ? 0 : price.usageMaxCost);
}

/** The real cost once the model reported (or we estimated) its output tokens. */
export function costFor(price: FeaturePrice, outputTokens: number): number {
  if (price.usageOutputTokensPerToken === null) return price.baseCost;
  const usage = Math.floor(Math.max(0, outputTokens) / price.usageOutputTokensPerToken);
  return price.baseCost + Math.min(price.usageMaxCost, usage);
}

/** Whether an account on `plan` (null: no subscription) may use the feature. */
export function allowedFor(price: FeaturePrice, plan: string | null | undefined): boolean {
  return price.plans === null || (plan != null && price.plans.includes(plan));
}
