import { and, eq, isNull } from "drizzle-orm";
import type Stripe from "stripe";
import type { Db } from "../db/client";
import { accounts, checkouts, subscriptions } from "../db/schema";
import type { Env } from "../env";
import { ApiError } from "../lib/errors";
import { randomToken } from "../lib/ids";
import { log } from "../lib/log";
import { isLoopbackHost } from "../lib/loopback";
import type { StripeEventLike } from "./events";
import { firstPurchasePrice, type PlanRow, type Price } from "./plans";
import { stripeClient } from "./stripe";

type Account = typeof accounts.$inferSelect;
type CheckoutRow = typeof checkouts.$inferSelect;

/** Pages the Worker serves after Checkout; they only tell the user to go back to the extension. */
export const billingPaths = {
  success: "/api/billing/success",
  cancel: "/api/billing/cancel",
  demo: (id: string) => `/api/billing/demo/${id}`,
  demoPay: (id: string) => `/api/billing/demo/${id}/pay`,
};

/** The price this account pays for `plan` now: packs cost less for accounts that never paid. */
export function priceFor(account: Pick<Account, "firstPaidAt">, plan: PlanRow): Price {
  const price = { amount: plan.priceAmount, currency: plan.currency };
  return plan.kind === "pack" && account.firstPaidAt === null ? firstPurchasePrice(price) : price;
}

/** Refuses a second subscription while one is active (cancel it first in the billing portal). */
export async function assertCanBuy(d: Db, account: Account, plan: PlanRow): Promise<void> {
  if (plan.kind !== "subscription") return;
  const active = await d.query.subscriptions.findFirst({
    where: and(eq(subscriptions.accountId, account.id), eq(subscriptions.status, "active")),
  });
  if (active) {
    throw new ApiError(400, "invalid_request", "This account already has an active subscription.", {
      issues: [{ path: "planId", message: "Already subscribed." }],
    });
  }
}

/**
 * A Stripe Checkout Session: payment mode for a pack, subscription mode for a
 * plan, with the account as `client_reference_id` and the plan in metadata.
 * The subscription and its payment carry the same metadata, so invoices and
 * subscription events name the account even if they arrive first.
 */
export async function createStripeCheckout(
  env: Env,
  d: Db,
  account: Account,
  plan: PlanRow,
  origin: string,
): Promise<{ url: string; id: string }> {
  const stripe = stripeClient(env);
  const price = priceFor(account, plan);
  const metadata = { accountId: account.id, planId: plan.id };
  try {
    const customer = await customerFor(stripe, d, account);
    const subscription = plan.kind === "subscription";
    const session = await stripe.checkout.sessions.create({
      mode: subscription ? "subscription" : "payment",
      customer,
      client_reference_id: account.id,
      metadata,
      line_items: [
        {
          quantity: 1,
          price_data: {
            currency: price.currency,
            unit_amount: price.amount,
            product_data: {
              name: subscription
                ? `MyBA ${plan.name}: ${plan.tokens} tokens a month`
                : `MyBA ${plan.name}: ${plan.tokens} tokens`,
            },
            ...(subscription ? { recurring: { interval: "month" as const } } : {}),
          },
        },
      ],
      ...(subscription ? { subscription_data: { metadata } } : { payment_intent_data: { metadata } }),
      success_url: `${origin}${billingPaths.success}?session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${origin}${billingPaths.cancel}`,
    });
    if (!session.url) throw new Error("Stripe returned a session without a URL");
    await recordCheckout(d, { id: session.id, account, plan, price, demo: false });
    return { url: session.url, id: session.id };
  } catch (error) {
    if (error instanceof ApiError) throw error;
    log("error", "stripe.checkout_failed", {
      accountId: account.id,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    throw new ApiError(
      502,
      "upstream_error",
      "The payment provider is not answering. Try again in a moment.",
    );
  }
}

/**
 * One Stripe customer per account. The idempotency key makes concurrent
 * first checkouts get the same customer from Stripe; the conditional update
 * keeps the first id we stored.
 */
async function customerFor(stripe: Stripe, d: Db, account: Account): Promise<string> {
  if (account.stripeCustomerId) return account.stripeCustomerId;
  const customer = await stripe.customers.create(
    {
      ...(account.email ? { email: account.email } : {}),
      ...(account.name ? { name: account.name } : {}),
      metadata: { accountId: account.id },
    },
    { idempotencyKey: `myba-customer-${account.id}` },
  );
  await d
    .update(accounts)
    .set({ stripeCustomerId: customer.id })
    .where(and(eq(accounts.id, account.id), isNull(accounts.stripeCustomerId)));
  const stored = await d.query.accounts.findFirst({
    where: eq(accounts.id, account.id),
    columns: { stripeCustomerId: true },
  });
  return stored?.stripeCustomerId ?? customer.id;
}

async function recordCheckout(
  d: Db,
  c: { id: string; account: Account; plan: PlanRow; price: Price; demo: boolean },
): Promise<void> {
  await d.insert(checkouts).values({
    id: c.id,
    accountId: c.account.id,
    planId: c.plan.id,
    mode: c.plan.kind === "subscription" ? "subscription" : "payment",
    amount: c.price.amount,
    currency: c.price.currency,
    tokens: c.plan.tokens,
    demo: c.demo,
    createdAt: new Date(),
  });
}

// ── demo billing ─────────────────────────────────────────────────────────

/**
 * Demo billing: only without Stripe keys AND on a loopback host, which a
 * deployed Worker never is, so it cannot be switched on in production by a
 * missing secret alone.
 */
export function demoBillingAllowed(env: Env, requestUrl: string): boolean {
  if (env.STRIPE_SECRET_KEY || env.STRIPE_WEBHOOK_SECRET) return false;
  return isLoopbackHost(requestUrl);
}

export async function createDemoCheckout(
  d: Db,
  account: Account,
  plan: PlanRow,
  origin: string,
): Promise<{ url: string; id: string }> {
  const id = `cs_demo_${randomToken(18)}`;
  await recordCheckout(d, { id, account, plan, price: priceFor(account, plan), demo: true });
  return { url: `${origin}${billingPaths.demo(id)}`, id };
}

export async function findDemoCheckout(d: Db, id: string): Promise<CheckoutRow | undefined> {
  return d.query.checkouts.findFirst({ where: and(eq(checkouts.id, id), eq(checkouts.demo, true)) });
}

/**
 * The events Stripe would send for a paid demo checkout. They go through the
 * same `applyEvent` as signed webhooks; ids derive from the session, so
 * pressing "Pay" twice is a duplicate delivery.
 */
export function demoEvents(checkout: CheckoutRow): StripeEventLike[] {
  const suffix = checkout.id.slice("cs_demo_".length);
  const created = Math.floor(checkout.createdAt.getTime() / 1000);
  const metadata = { accountId: checkout.accountId, planId: checkout.planId };
  const subscription = checkout.mode === "subscription" ? `sub_demo_${suffix}` : null;
  const events: StripeEventLike[] = [
    {
      id: `evt_demo_cs_${suffix}`,
      type: "checkout.session.completed",
      created,
      data: {
        object: {
          id: checkout.id,
          object: "checkout.session",
          mode: checkout.mode,
          payment_status: "paid",
          client_reference_id: checkout.accountId,
          metadata,
          amount_total: checkout.amount,
          currency: checkout.currency,
          customer: null,
          payment_intent: subscription ? null : `pi_demo_${suffix}`,
          subscription,
        },
      },
    },
  ];
  if (subscription) {
    const month = 30 * 24 * 60 * 60;
    events.push({
      id: `evt_demo_in_${suffix}`,
      type: "invoice.paid",
      created,
      data: {
        object: {
          id: `in_demo_${suffix}`,
          object: "invoice",
          amount_paid: checkout.amount,
          currency: checkout.currency,
          customer: null,
          parent: { type: "subscription_details", subscription_details: { subscription, metadata } },
          lines: { data: [{ period: { start: created, end: created + month } }] },
          period_start: created,
          period_end: created,
        },
      },
    });
  }
  return events;
}
