import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * What can be bought: one-off token packs and monthly subscriptions. Seeded by
 * a migration, edited by admins (`/admin/pricing`); rows are deactivated,
 * never deleted, because purchases refer to them. Prices in minor units.
 */
export const plans = sqliteTable("plans", {
  id: text().primaryKey(), // "starter", "pro"… (stable, shown to clients)
  kind: text({ enum: ["pack", "subscription"] }).notNull(),
  name: text().notNull(),
  /** A pack's tokens, or a subscription's monthly allowance. */
  tokens: integer().notNull(),
  priceAmount: integer().notNull(),
  currency: text().notNull().default("usd"),
  popular: integer({ mode: "boolean" }).notNull().default(false),
  /** Share of the monthly allowance that may carry over to the next period. */
  rolloverPercent: integer().notNull().default(0),
  /** Features a subscription unlocks (feature ids of POST /api/generate). */
  features: text({ mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  active: integer({ mode: "boolean" }).notNull().default(true),
  sortOrder: integer().notNull().default(0),
  updatedAt: integer({ mode: "timestamp_ms" }).notNull(),
});

/** A Checkout Session we created (Stripe's, or a local demo one): what was offered at what price. */
export const checkouts = sqliteTable(
  "checkouts",
  {
    id: text().primaryKey(), // Stripe's cs_… or cs_demo_…
    accountId: text().notNull(),
    planId: text().notNull(),
    mode: text({ enum: ["payment", "subscription"] }).notNull(),
    amount: integer().notNull(),
    currency: text().notNull(),
    /** The plan's tokens when the session was made: what the buyer was shown. */
    tokens: integer().notNull(),
    demo: integer({ mode: "boolean" }).notNull().default(false),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("checkouts_account_idx").on(t.accountId)],
);

/**
 * A payment that carries tokens: a pack (one per Checkout Session) or a
 * period's allowance (one per invoice). The wallet grant is keyed by the row's
 * id, so it happens once however often it is driven.
 */
export const purchases = sqliteTable(
  "purchases",
  {
    id: text().primaryKey(), // pur_…
    accountId: text().notNull(),
    planId: text().notNull(),
    kind: text({ enum: ["pack", "allowance"] }).notNull(),
    checkoutSessionId: text(),
    invoiceId: text(),
    subscriptionId: text(),
    paymentIntentId: text(),
    /** What was charged (minor units): the base of pro-rata clawbacks. */
    amount: integer().notNull(),
    currency: text().notNull(),
    tokens: integer().notNull(),
    periodStart: integer({ mode: "timestamp_ms" }),
    periodEnd: integer({ mode: "timestamp_ms" }),
    /** The allowance this one may take unused tokens from, and at most how many. */
    rolloverFromId: text(),
    rolloverCap: integer().notNull().default(0),
    /** Decided once, before the grant, so a retried grant has the same amount. */
    carriedOver: integer(),
    grantId: text(),
    /** Highest cumulative `amount_refunded` seen, and the disputed amount (minor units). */
    refundedAmount: integer().notNull().default(0),
    disputedAmount: integer().notNull().default(0),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
  },
  (t) => [
    uniqueIndex("purchases_checkout_session_unique").on(t.checkoutSessionId),
    uniqueIndex("purchases_invoice_unique").on(t.invoiceId),
    index("purchases_payment_intent_idx").on(t.paymentIntentId),
    index("purchases_subscription_idx").on(t.subscriptionId, t.periodEnd),
    index("purchases_account_idx").on(t.accountId, t.createdAt),
  ],
);

/** Stripe subscriptions by their id; a canceled one grants no further allowances. */
export const subscriptions = sqliteTable(
  "subscriptions",
  {
    id: text().primaryKey(), // sub_…
    accountId: text().notNull(),
    planId: text().notNull(),
    customerId: text(),
    status: text({ enum: ["active", "canceled"] }).notNull(),
    canceledAt: integer({ mode: "timestamp_ms" }),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("subscriptions_account_idx").on(t.accountId)],
);

/**
 * Every Stripe event we accepted, recorded in the same D1 batch as its effect
 * on our tables. `pending` still has a wallet step to drive (idempotent, keyed
 * by purchase or event id); `deferred` is a refund or dispute waiting for its
 * purchase to be paid, or a won dispute waiting for its chargeback.
 */
export const stripeEvents = sqliteTable(
  "stripe_events",
  {
    id: text().primaryKey(), // evt_…
    type: text().notNull(),
    status: text({ enum: ["pending", "done", "ignored", "deferred"] }).notNull(),
    /** Random per delivery: tells the delivery whose insert won from its duplicates. */
    claim: text().notNull(),
    purchaseId: text(),
    paymentIntentId: text(),
    /** Refund: cumulative `amount_refunded`; dispute: the disputed amount. */
    reversalAmount: integer(),
    /** The purchase's reversed amount before and after this event (minor units). */
    reversedFrom: integer(),
    reversedTo: integer(),
    /** Tokens this event took back. */
    debited: integer(),
    /** The dispute (du_…) of a `charge.dispute.*` event: a won dispute finds its chargeback by it. */
    disputeId: text(),
    /** The wallet grant this event made: a won dispute's restored tokens, which later refunds may take back. */
    grantId: text(),
    note: text(),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
    processedAt: integer({ mode: "timestamp_ms" }),
  },
  (t) => [index("stripe_events_deferred_idx").on(t.paymentIntentId, t.status)],
);

/** Promo codes, stored upper-case (redemption is case-insensitive). */
export const promoCodes = sqliteTable("promo_codes", {
  code: text().primaryKey(),
  tokens: integer().notNull(),
  maxRedemptions: integer(),
  expiresAt: integer({ mode: "timestamp_ms" }),
  createdAt: integer({ mode: "timestamp_ms" }).notNull(),
});

/** One row per account and code: the primary key makes "once per account" hold under races. */
export const promoRedemptions = sqliteTable(
  "promo_redemptions",
  {
    code: text().notNull(),
    accountId: text().notNull(),
    tokens: integer().notNull(),
    grantId: text(),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.code, t.accountId] }), index("promo_redemptions_code_idx").on(t.code)],
);
