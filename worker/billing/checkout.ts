import { and, eq, isNull, ne, sql } from "drizzle-orm";
import type Stripe from "stripe";
import type { Db } from "../db/client";
import { accounts, checkouts, subscriptions } from "../db/schema";
import type { Env } from "../env";
import { ApiError } from "../lib/errors";
import { randomToken } from "../lib/ids";
import { log } from "../lib/log";
import { isLoopbackHost } from "../lib/loopback";
import type { StripeEventLike } from "./events/types";
import { bindOffer, claimOffer, type Offer, releaseOffer } from "./first-purchase";
import type { PlanRow } from "./plans";
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

/** Who buys, and whose wallet the tokens go to: the buyer's own (its account id) or a team's. */
export interface Buyer {
  account: Account;
  walletId: string;
}

const forTeam = (b: Buyer) => b.walletId !== b.account.id;

/** Refuses a second subscription for a wallet while one is live (cancel it first in the billing portal). */
export async function assertCanBuy(d: Db, buyer: Buyer, plan: PlanRow): Promise<void> {
  if (plan.kind !== "subscription") return;
  const active = await d.query.subscriptions.findFirst({
    where: and(
      eq(sql`coalesce(${subscriptions.walletId}, ${subscriptions.accountId})`, buyer.walletId),
      ne(subscriptions.status, "canceled"),
    ),
  });
  if (active) {
    const whose = forTeam(buyer) ? "This team" : "This account";
    throw new ApiError(400, "invalid_request", `${whose} already has an active subscription.`, {
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
  buyer: Buyer,
  plan: PlanRow,
  origin: string,
): Promise<{ url: string; id: string }> {
  const { account, walletId } = buyer;
  const stripe = stripeClient(env);
  const offer = await claimOffer(d, account, plan, { forTeam: forTeam(buyer) });
  const { price } = offer;
  const metadata = { accountId: account.id, planId: plan.id, walletId };
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
      // A discounted session can be paid only while it holds the offer.
      ...(offer.sessionExpiresAt ? { expires_at: Math.floor(offer.sessionExpiresAt / 1000) } : {}),
    });
    if (!session.url) throw new Error("Stripe returned a session without a URL");
    await recordCheckout(d, { id: session.id, buyer, plan, offer, demo: false });
    return { url: session.url, id: session.id };
  } catch (error) {
    await releaseOffer(d, account.id, offer);
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
  c: { id: string; buyer: Buyer; plan: PlanRow; offer: Offer; demo: boolean },
): Promise<void> {
  await d.insert(checkouts).values({
    id: c.id,
    accountId: c.buyer.account.id,
    walletId: c.buyer.walletId,
    planId: c.plan.id,
    mode: c.plan.kind === "subscription" ? "subscription" : "payment",
    amount: c.offer.price.amount,
    currency: c.offer.price.currency,
    tokens: c.plan.tokens,
    discounted: c.offer.discounted,
    listAmount: c.offer.listAmount,
    demo: c.demo,
    createdAt: new Date(),
  });
  await bindOffer(d, c.buyer.account.id, c.offer, c.id);
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
  buyer: Buyer,
  plan: PlanRow,
  origin: string,
): Promise<{ url: string; id: string }> {
  const id = `cs_demo_${randomToken(18)}`;
  const offer = await claimOffer(d, buyer.account, plan, { forTeam: forTeam(buyer) });
  await recordCheckout(d, { id, buyer, plan, offer, demo: true });
  return { url: `${origin}${billingPaths.demo(id)}`, id };
}

export async function findDemoCheckout(d: Db, id: string): Promise<CheckoutRow | undefined> {
  return d.query.checkouts.findFirst({ where: and(eq(checkouts.id, id), eq(checkouts.demo, true)) });
}

/** The invoice of a demo subscription's first period. */
export const demoInvoiceId = (checkoutId: string) => `in_demo_${checkoutId.slice("cs_demo_".length)}`;

/**
 * The events Stripe would send for a paid demo checkout. They go through the
 * same `applyEvent` as signed webhooks; ids derive from the session, so
 * pressing "Pay" twice is a duplicate delivery.
 */
export function demoEvents(checkout: CheckoutRow): StripeEventLike[] {
  const suffix = checkout.id.slice("cs_demo_".length);
  const created = Math.floor(checkout.createdAt.getTime() / 1000);
  const metadata = {
    accountId: checkout.accountId,
    planId: checkout.planId,
    walletId: checkout.walletId ?? checkout.accountId,
  };
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
          id: demoInvoiceId(checkout.id),
          object: "invoice",
          amount_paid: checkout.amount,
          billing_reason: "subscription_create",
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
