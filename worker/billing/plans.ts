import { and, asc, desc, eq, notInArray, sql } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db/client";
import { plans, subscriptions } from "../db/schema";

/** Accounts that have never paid get this much off their first pack. */
export const FIRST_PURCHASE_DISCOUNT_PERCENT = 20;

export type PlanRow = typeof plans.$inferSelect;

export interface Price {
  amount: number;
  currency: string;
}

/** A pack as `GET /api/plans` shows it. */
export interface Pack {
  id: string;
  name: string;
  tokens: number;
  price: Price;
  popular: boolean;
  firstPurchasePrice?: Price;
  active?: boolean;
}

/** A monthly subscription as `GET /api/plans` shows it. */
export interface Subscription {
  id: string;
  name: string;
  monthlyTokens: number;
  price: Price;
  rolloverPercent: number;
  features: string[];
  active?: boolean;
}

export interface PlanList {
  packs: Pack[];
  subscriptions: Subscription[];
}

/** The first-purchase price of `price`: rounded to whole minor units, never below 1. */
export function firstPurchasePrice(price: Price): Price {
  const amount = Math.round((price.amount * (100 - FIRST_PURCHASE_DISCOUNT_PERCENT)) / 100);
  return { amount: Math.max(amount, 1), currency: price.currency };
}

/** Tokens a subscription may carry from one period to the next. */
export function rolloverCap(plan: Pick<PlanRow, "tokens" | "rolloverPercent">): number {
  return Math.floor((plan.tokens * plan.rolloverPercent) / 100);
}

/**
 * Packs and subscriptions in display order. Buyers see active plans only;
 * admins pass `includeInactive` and get each plan's `active` flag.
 */
export async function listPlans(
  d: Db,
  opts: { includeInactive?: boolean; firstPurchase?: boolean } = {},
): Promise<PlanList> {
  const rows = await d
    .select()
    .from(plans)
    .where(opts.includeInactive ? undefined : eq(plans.active, true))
    .orderBy(asc(plans.sortOrder), asc(plans.id));
  const flag = (row: PlanRow) => (opts.includeInactive ? { active: row.active } : {});
  return {
    packs: rows
      .filter((r) => r.kind === "pack")
      .map((r) => {
        const price = { amount: r.priceAmount, currency: r.currency };
        return {
          id: r.id,
          name: r.name,
          tokens: r.tokens,
          price,
          popular: r.popular,
          ...(opts.firstPurchase ? { firstPurchasePrice: firstPurchasePrice(price) } : {}),
          ...flag(r),
        };
      }),
    subscriptions: rows
      .filter((r) => r.kind === "subscription")
      .map((r) => ({
        id: r.id,
        name: r.name,
        monthlyTokens: r.tokens,
        price: { amount: r.priceAmount, currency: r.currency },
        rolloverPercent: r.rolloverPercent,
        features: r.features,
        ...flag(r),
      })),
  };
}

/** An active plan by id, or undefined. */
export async function findPlan(d: Db, id: string): Promise<PlanRow | undefined> {
  return d.query.plans.findFirst({ where: and(eq(plans.id, id), eq(plans.active, true)) });
}

/** Any plan by id, active or not (purchases refer to retired plans too). */
export async function planById(d: Db, id: string): Promise<PlanRow | undefined> {
  return d.query.plans.findFirst({ where: eq(plans.id, id) });
}

const planId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, "Use 1-40 lower-case letters, digits, '-' or '_'.");
const price = z.object({
  amount: z.number().int().min(50).max(10_000_000),
  currency: z
    .string()
    .regex(/^[a-zA-Z]{3}$/, "Use a three-letter ISO currency code.")
    .transform((s) => s.toLowerCase())
    .default("usd"),
});

const packInput = z.object({
  id: planId,
  name: z.string().trim().min(1).max(60),
  tokens: z.number().int().min(1).max(1_000_000),
  price,
  popular: z.boolean().default(false),
  active: z.boolean().default(true),
});

const subscriptionInput = z.object({
  id: planId,
  name: z.string().trim().min(1).max(60),
  monthlyTokens: z.number().int().min(1).max(1_000_000),
  price,
  rolloverPercent: z.number().int().min(0).max(100).default(0),
  features: z.array(z.string().min(1).max(40)).max(20).default([]),
  active: z.boolean().default(true),
});

const uniqueIds = (list: { id: string }[]) => new Set(list.map((p) => p.id)).size === list.length;

/**
 * `PUT /admin/pricing`'s plan part. A list that is given replaces that kind's
 * plans: listed ones are created or updated (in the given order), unlisted ones
 * are deactivated, never deleted, because purchases refer to them.
 */
export const plansUpdateInput = z
  .object({
    packs: z.array(packInput).max(20).refine(uniqueIds, "Plan ids must be unique.").optional(),
    subscriptions: z
      .array(subscriptionInput)
      .max(20)
      .refine(uniqueIds, "Plan ids must be unique.")
      .optional(),
  })
  .refine(
    (v) => {
      const ids = [...(v.packs ?? []), ...(v.subscriptions ?? [])].map((p) => p.id);
      return new Set(ids).size === ids.length;
    },
    { message: "A plan id cannot be both a pack and a subscription." },
  );

export type PlansUpdate = z.infer<typeof plansUpdateInput>;

export class PlanKindConflict extends Error {
  constructor(readonly planId: string) {
    super(`Plan ${planId} exists with another kind; choose another id.`);
  }
}

/**
 * Applies an admin's plan edit in one D1 batch and returns every plan
 * (inactive included). A plan id keeps its kind forever: a pack id reused as a
 * subscription throws PlanKindConflict, since old purchases name it.
 */
export async function updatePlans(d: Db, input: PlansUpdate): Promise<PlanList> {
  const now = new Date();
  const existing = new Map(
    (await d.select({ id: plans.id, kind: plans.kind }).from(plans)).map((p) => [p.id, p.kind]),
  );
  const rows: (typeof plans.$inferInsert)[] = [];
  input.packs?.forEach((p, i) => {
    rows.push({
      id: p.id,
      kind: "pack",
      name: p.name,
      tokens: p.tokens,
      priceAmount: p.price.amount,
      currency: p.price.currency,
      popular: p.popular,
      rolloverPercent: 0,
      features: [],
      active: p.active,
      sortOrder: 10 * (i + 1),
      updatedAt: now,
    });
  });
  input.subscriptions?.forEach((s, i) => {
    rows.push({
      id: s.id,
      kind: "subscription",
      name: s.name,
      tokens: s.monthlyTokens,
      priceAmount: s.price.amount,
      currency: s.price.currency,
      popular: false,
      rolloverPercent: s.rolloverPercent,
      features: s.features,
      active: s.active,
      sortOrder: 1000 + 10 * (i + 1),
      updatedAt: now,
    });
  });
  for (const r of rows) {
    const kind = existing.get(r.id);
    if (kind && kind !== r.kind) throw new PlanKindConflict(r.id);
  }

  const statements = [];
  for (const kind of ["pack", "subscription"] as const) {
    const given = kind === "pack" ? input.packs : input.subscriptions;
    if (!given) continue;
    const keep = given.map((p) => p.id);
    statements.push(
      d
        .update(plans)
        .set({ active: false, updatedAt: now })
        .where(and(eq(plans.kind, kind), keep.length ? notInArray(plans.id, keep) : undefined)),
    );
  }
  for (const r of rows) {
    const { id, kind, ...rest } = r;
    statements.push(d.insert(plans).values(r).onConflictDoUpdate({ target: plans.id, set: rest }));
  }
  const [first, ...others] = statements;
  if (first) await d.batch([first, ...others]);
  return listPlans(d, { includeInactive: true });
}

/**
 * The plan whose features spending from a wallet gets: the wallet's active
 * subscription's, or null. For a team's wallet this is the team's own
 * subscription (its members' personal plans do not apply); an account's plan
 * is also kept on `accounts.plan`. As `{plan}` rows, so it can join a D1 batch.
 */
export function activePlanQuery(d: Db, walletId: string) {
  return d
    .select({ plan: subscriptions.planId })
    .from(subscriptions)
    .where(
      and(
        eq(sql`coalesce(${subscriptions.walletId}, ${subscriptions.accountId})`, walletId),
        eq(subscriptions.status, "active"),
      ),
    )
    .orderBy(desc(subscriptions.createdAt))
    .limit(1);
}

export async function activePlanOf(d: Db, walletId: string): Promise<string | null> {
  const [row] = await activePlanQuery(d, walletId);
  return row?.plan ?? null;
}
