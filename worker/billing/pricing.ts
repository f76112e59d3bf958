import { z } from "zod";
import { type Db, db } from "../db/client";
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
 * Pricing as the generate path reads it: cached per isolate, with a version
 * (docs/decisions/018). The path never waits for D1 once the isolate has
 * read pricing: a request older than PRICING_REFRESH_MS since the last read
 * starts a refresh in the background and is admitted at the cached price;
 * the requests after the refresh pay the new one. A cold isolate reads once
 * before its first admission (it has no price to hold at). An admin change
 * made through this isolate (updatePricing) applies to the next request.
 *
 * The version is a hash of the rows: the same table, the same version, on
 * every isolate. A generation carries the version it was admitted at, so its
 * charge is computed from the price it held, whatever happens meanwhile.
 *
 * The revision orders snapshots: the latest change's time (admins' changes
 * only ever write rows, each stamped). The account's object keeps the
 * highest it has admitted at and refuses an older one (`pricing_stale`),
 * so once any isolate has charged a wallet the new price, no isolate still
 * holding the old one charges it that again: the route reads pricing from
 * D1 and asks once more (docs/decisions/024).
 */
export const PRICING_REFRESH_MS = 2_000;

export interface PricingSnapshot {
  pricing: Pricing;
  version: string;
  /** Epoch ms of the latest change in the table (0: all defaults). */
  revision: number;
  /** Epoch ms of the read this snapshot came from (0: never read). */
  readAt: number;
}

const COLD: PricingSnapshot = { pricing: DEFAULT_PRICING, version: "default", revision: 0, readAt: 0 };
let cached: PricingSnapshot = COLD;
let refreshing: Promise<PricingSnapshot> | null = null;

/** The snapshot from the rows of `pricingQuery`. */
export function snapshotFrom(rows: FeaturePriceRow[], now = Date.now()): PricingSnapshot {
  const pricing = pricingFrom(rows);
  const revision = rows.reduce((latest, r) => Math.max(latest, r.updatedAt.getTime()), 0);
  return { pricing, version: versionOf(pricing), revision, readAt: now };
}

/** Reads pricing from D1 into this isolate's cache (one read at a time). */
export function refreshPricing(d1: D1Database): Promise<PricingSnapshot> {
  refreshing ??= pricingQuery(db(d1))
    .then((rows) => remember(snapshotFrom(rows)))
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/**
 * The price to admit at, without D1 once warm. `background` keeps a refresh
 * alive past the response (the request's waitUntil).
 */
export async function cachedPricing(
  d1: D1Database,
  background: (work: Promise<unknown>) => void,
  now = Date.now(),
): Promise<PricingSnapshot> {
  if (cached.readAt === 0) return refreshPricing(d1);
  if (now - cached.readAt >= PRICING_REFRESH_MS && refreshing === null) {
    background(refreshPricing(d1).catch(() => cached));
  }
  return cached;
}

function remember(snapshot: PricingSnapshot): PricingSnapshot {
  // A slower read that started earlier must not replace a newer one.
  if (snapshot.readAt >= cached.readAt) cached = snapshot;
  return cached;
}

/** A short stable hash of the table (FNV-1a over its canonical JSON). */
function versionOf(pricing: Pricing): string {
  const text = JSON.stringify(FEATURES.map((f) => [f, pricing[f]]));
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

/** Back to a cold isolate (tests: one that has not read pricing yet, or that missed a change). */
export function forgetSeenPricing() {
  cached = COLD;
}

/** Puts an earlier snapshot back, fresh: an isolate that has not heard of a change yet (tests). */
export function stalePricing(snapshot: PricingSnapshot) {
  cached = { ...snapshot, readAt: Date.now() };
}

/** Makes the cache due for refresh, as if PRICING_REFRESH_MS had passed (tests). */
export function agePricing() {
  if (cached.readAt !== 0) cached = { ...cached, readAt: 1 };
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
  return remember(snapshotFrom(await pricingQuery(d))).pricing;
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
