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
    /** The wallet the purchase goes to: the buyer's account id, or the team id it buys for. */
    walletId: text(),
    planId: text().notNull(),
    mode: text({ enum: ["payment", "subscription"] }).notNull(),
    amount: integer().notNull(),
    currency: text().notNull(),
    /** The plan's tokens when the session was made: what the buyer was shown. */
    tokens: integer().notNull(),
    /** Offered at the first-purchase price; `listAmount` is the full price it was taken from. */
    discounted: integer({ mode: "boolean" }).notNull().default(false),
    listAmount: integer(),
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
    /** Who paid. */
    accountId: text().notNull(),
    /** Whose wallet the tokens went to (the account, or a team); null on rows older than teams: the account. */
    walletId: text(),
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
    /** An allowance's invoice `billing_reason`: a proration (`subscription_update`) never carries over. */
    billingReason: text(),
    /** Paid at the first-purchase price: at most one such purchase per account (decision 008). */
    discounted: integer({ mode: "boolean" }).notNull().default(false),
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

export const SUBSCRIPTION_STATUSES = ["active", "past_due", "unpaid", "canceled"] as const;

/**
 * Stripe subscriptions by their id; a canceled one grants no further
 * allowances, and only an `active` one gives its plan's features.
 */
export const subscriptions = sqliteTable(
  "subscriptions",
  {
    id: text().primaryKey(), // sub_…
    accountId: text().notNull(),
    /** The wallet its allowances go to (the account, or a team); null: the account. */
    walletId: text(),
    planId: text().notNull(),
    customerId: text(),
    status: text({ enum: SUBSCRIPTION_STATUSES }).notNull(),
    /** `created` of the subscription event that set `status`: an older event never overrides a newer one. */
    statusAt: integer(),
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
    /**
     * A chargeback's tokens still to take (held by generations when it ran,
     * decision 008), and how many collection attempts were made: the key of
     * the next one, so a retried attempt replays instead of taking twice.
     */
    owed: integer().notNull().default(0),
    owedAttempts: integer().notNull().default(0),
    /** The invoice of an `invoice_payment.paid` event: links a subscription payment to its payment intent. */
    invoiceId: text(),
    /** The dispute (du_…) of a `charge.dispute.*` event: a won dispute finds its chargeback by it. */
    disputeId: text(),
    /** The wallet grant this event made: a won dispute's restored tokens, which later refunds may take back. */
    grantId: text(),
    note: text(),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
    processedAt: integer({ mode: "timestamp_ms" }),
  },
  (t) => [
    index("stripe_events_deferred_idx").on(t.paymentIntentId, t.status),
    index("stripe_events_invoice_idx").on(t.invoiceId),
  ],
);

/**
 * The first-purchase price on offer to an account: one open offer at a time,
 * claimed atomically when a discounted checkout is created and held until
 * that session has expired, so several checkouts opened before the first
 * payment cannot all carry the discount (decision 008).
 */
export const firstPurchaseOffers = sqliteTable("first_purchase_offers", {
  accountId: text().primaryKey(),
  checkoutId: text(),
  expiresAt: integer({ mode: "timestamp_ms" }).notNull(),
});

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
