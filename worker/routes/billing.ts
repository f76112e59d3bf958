import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import {
  assertCanBuy,
  type Buyer,
  billingPaths,
  createDemoCheckout,
  createStripeCheckout,
  demoBillingAllowed,
  demoEvents,
  demoInvoiceId,
  findDemoCheckout,
} from "../billing/checkout";
import { applyEvent, UnreadableEvent } from "../billing/events";
import { type Confirmation, cancelPage, demoPage, formatMoney, successPage } from "../billing/pages";
import { findPlan, listPlans, planById } from "../billing/plans";
import { stripeConfigured, verifyEvent } from "../billing/stripe";
import { type Db, db } from "../db/client";
import { accounts, checkouts, purchases } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError, notFound } from "../lib/errors";
import { log } from "../lib/log";
import { clientIp, rateLimit } from "../lib/rate-limit";
import { bearerToken, findSession, requireActive, requireSession, requireUser } from "../lib/session";
import { validate } from "../lib/validation";
import { membership } from "../teams/membership";
import { wallet } from "../wallet/client";

const checkoutBody = z.object({
  planId: z.string().min(1).max(40),
  /** Buy for this team's wallet (owners and admins). */
  teamId: z.string().max(64).optional(),
});

/** Checkouts per hour: each one calls Stripe (a customer, a session), so a script must not be able to loop it. */
export const CHECKOUT_LIMITS = { perAccount: 20, perAddress: 60, periodMs: 3_600_000 };

const checkoutLimit = rateLimit((c) => {
  const ip = clientIp(c);
  const { perAccount, perAddress, periodMs } = CHECKOUT_LIMITS;
  return [
    { key: `checkout:acct:${c.var.session.accountId}`, limit: perAccount, periodMs },
    ...(ip ? [{ key: `checkout:ip:${ip}`, limit: perAddress, periodMs }] : []),
  ];
});

/**
 * Who the checkout buys for: the caller, or a team the caller owns or
 * administers. A non-member learns nothing of the team (404); a member may
 * not buy for it (403).
 */
async function buyerFor(d: Db, account: Buyer["account"], teamId: string | undefined): Promise<Buyer> {
  if (teamId === undefined) return { account, walletId: account.id };
  const member = await membership(d, teamId, account.id);
  if (!member) throw notFound("The team");
  if (member.role !== "owner" && member.role !== "admin") {
    throw new ApiError(403, "forbidden", "Only the team's owners and admins can buy for it.");
  }
  return { account, walletId: member.teamId };
}

const successQuery = z.object({ session_id: z.string().max(255).optional() });

/**
 * What the thank-you page can confirm for a session: its tokens, and whether
 * they were granted already. The session id is the capability, as on Stripe's
 * own page; an unknown one gets the generic text.
 */
async function confirmation(d: Db, sessionId: string): Promise<Confirmation | null> {
  const checkout = await d.query.checkouts.findFirst({ where: eq(checkouts.id, sessionId) });
  if (!checkout) return null;
  const subscription = checkout.mode === "subscription";
  // A pack's purchase is its session's; a demo subscription's first allowance is its demo invoice's.
  const where = subscription
    ? eq(purchases.invoiceId, demoInvoiceId(checkout.id))
    : eq(purchases.checkoutSessionId, sessionId);
  const purchase = await d.query.purchases.findFirst({ where });
  return {
    tokens: subscription ? checkout.tokens : (purchase?.tokens ?? checkout.tokens),
    subscription,
    granted: Boolean(purchase?.grantId),
  };
}

export const billing = new Hono<AppEnv>()
  // Optional auth: a caller that never paid (or is not signed in yet) sees first-purchase prices.
  .get("/plans", async (c) => {
    const token = bearerToken(c.req.header("Authorization"));
    const session = token ? await findSession(c.env, token) : null;
    const d = db(c.env.DB);
    let neverPaid = true;
    if (session) {
      const account = await d.query.accounts.findFirst({
        where: eq(accounts.id, session.accountId),
        columns: { firstPaidAt: true },
      });
      neverPaid = !account?.firstPaidAt;
      const tokens = await wallet(c.env, session.accountId).balance();
      c.header("X-Tokens-Remaining", String(tokens.available));
    }
    return c.json(await listPlans(d, { firstPurchase: neverPaid }));
  })

  .post(
    "/checkout",
    requireSession,
    requireUser,
    requireActive,
    checkoutLimit,
    validate("json", checkoutBody),
    async (c) => {
      const { planId, teamId } = c.req.valid("json");
      const d = db(c.env.DB);
      const [account, plan] = await Promise.all([
        d.query.accounts.findFirst({ where: eq(accounts.id, c.var.session.accountId) }),
        findPlan(d, planId),
      ]);
      if (!account) throw notFound("The account");
      const buyer = await buyerFor(d, account, teamId);
      if (!plan) throw notFound(`The plan ${planId}`);
      await assertCanBuy(d, buyer, plan);
      const origin = new URL(c.req.url).origin;
      if (stripeConfigured(c.env)) {
        return c.json(await createStripeCheckout(c.env, d, buyer, plan, origin));
      }
      if (demoBillingAllowed(c.env, c.req.url)) {
        return c.json(await createDemoCheckout(d, buyer, plan, origin));
      }
      throw new ApiError(503, "unavailable", "Payments are not available right now.");
    },
  )

  // Raw body first: the signature covers the exact bytes Stripe sent.
  .post("/webhooks/stripe", async (c) => {
    const secret = c.env.STRIPE_WEBHOOK_SECRET;
    if (!secret) throw new ApiError(503, "unavailable", "Stripe webhooks are not configured.");
    const signature = c.req.header("Stripe-Signature");
    if (!signature) throw new ApiError(400, "invalid_request", "The Stripe-Signature header is missing.");
    const raw = await c.req.text();
    let event: Awaited<ReturnType<typeof verifyEvent>>;
    try {
      event = await verifyEvent(raw, signature, secret);
    } catch (error) {
      log("warn", "stripe.bad_signature", { requestId: c.var.requestId, error: String(error) });
      throw new ApiError(400, "invalid_request", "The webhook signature is not valid.");
    }
    try {
      const result = await applyEvent(c.env, event);
      log("info", "stripe.event", { requestId: c.var.requestId, type: event.type, ...result });
      return c.json({ received: true, ...result });
    } catch (error) {
      if (error instanceof UnreadableEvent) {
        // Not recorded: a later delivery (after a fix) can still take effect.
        log("error", "stripe.unreadable_event", {
          eventId: event.id,
          type: event.type,
          error: error.message,
        });
        throw new ApiError(400, "invalid_request", `The event could not be read: ${error.message}`);
      }
      throw error; // 500: Stripe redelivers, and the recorded event resumes where it stopped.
    }
  })

  .get("/billing/success", validate("query", successQuery), async (c) => {
    const sessionId = c.req.valid("query").session_id;
    return c.html(successPage(sessionId ? await confirmation(db(c.env.DB), sessionId) : null));
  })
  .get("/billing/cancel", (c) => c.html(cancelPage()))

  .get("/billing/demo/:id", async (c) => {
    if (!demoBillingAllowed(c.env, c.req.url)) throw notFound("The page");
    const d = db(c.env.DB);
    const checkout = await findDemoCheckout(d, c.req.param("id"));
    if (!checkout) throw notFound("The checkout");
    const plan = await planById(d, checkout.planId);
    return c.html(
      demoPage({
        payUrl: billingPaths.demoPay(checkout.id),
        cancelUrl: billingPaths.cancel,
        planName: plan?.name ?? checkout.planId,
        tokens: checkout.tokens,
        amount: formatMoney(checkout.amount, checkout.currency),
        subscription: checkout.mode === "subscription",
      }),
    );
  })

  // The session id in the URL is the capability (the tab has no bearer token),
  // as with a Stripe-hosted checkout page.
  .post("/billing/demo/:id/pay", async (c) => {
    if (!demoBillingAllowed(c.env, c.req.url)) throw notFound("The page");
    const checkout = await findDemoCheckout(db(c.env.DB), c.req.param("id"));
    if (!checkout) throw notFound("The checkout");
    for (const event of demoEvents(checkout)) await applyEvent(c.env, event);
    return c.redirect(`${billingPaths.success}?session_id=${encodeURIComponent(checkout.id)}`, 303);
  });
