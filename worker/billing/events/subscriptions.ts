/**
 * Subscription events (decision 008): which paid invoices give an allowance,
 * how a subscription payment finds its payment intent (so its refunds and
 * disputes find their purchase), and the subscription's status, which
 * decides whether its plan's features apply.
 */
import { eq } from "drizzle-orm";
import type { z } from "zod";
import { db } from "../../db/client";
import { accounts, subscriptions } from "../../db/schema";
import type { SUBSCRIPTION_STATUSES } from "../../db/schema/billing";
import type { Env } from "../../env";
import { newId } from "../../lib/ids";
import { log } from "../../lib/log";
import { proRata } from "../../wallet/ledger";
import { planById, rolloverCap } from "../plans";
import { stripeClient, stripeConfigured } from "../stripe";
import {
  linkPurchase,
  markPaid,
  type SubscriptionOwner,
  setAccountPlan,
  upsertSubscription,
} from "./effects";
import { invoicePayload, invoicePaymentPayload, read, subscriptionPayload } from "./payload";
import type { EventEffect, StripeEventLike } from "./types";

/** The billing reasons of a period's start and its renewals: the only ones that give the full allowance. */
const PERIOD_REASONS = ["subscription_create", "subscription_cycle"];
/** An upgrade or downgrade mid-period: what it charged buys its share of the plan's allowance. */
const PRORATION_REASON = "subscription_update";

export async function invoiceEffect(env: Env, event: StripeEventLike): Promise<EventEffect> {
  const inv = read(invoicePayload, event.data.object);
  const details = inv.parent?.subscription_details;
  const subscriptionId = details?.subscription;
  if (!subscriptionId) return { status: "ignored", note: "invoice without a subscription" };
  const owner = await subscriptionOwner(env, subscriptionId, details?.metadata ?? {}, inv.customer);
  if (!owner) return { status: "ignored", note: "invoice without account or plan" };
  const d = db(env.DB);
  const [account, plan] = await Promise.all([
    d.query.accounts.findFirst({ where: eq(accounts.id, owner.accountId) }),
    planById(d, owner.planId),
  ]);
  if (!account) return { status: "ignored", note: `unknown account ${owner.accountId}` };
  if (plan?.kind !== "subscription") return { status: "ignored", note: `unknown plan ${owner.planId}` };

  const reason = inv.billing_reason ?? "unknown";
  const period = PERIOD_REASONS.includes(reason);
  if (!period && reason !== PRORATION_REASON) {
    return { status: "ignored", note: `billing reason ${reason}: no allowance` };
  }
  if (inv.amount_paid === 0) return { status: "ignored", note: "nothing paid: no allowance" };
  // A proration's tokens: its share of the allowance at the plan's price, never more than the allowance.
  const tokens = period
    ? plan.tokens
    : Math.min(plan.tokens, proRata(plan.tokens, inv.amount_paid, Math.max(1, plan.priceAmount)));
  const line = inv.lines?.data[0]?.period;
  const periodStart = 1000 * (line?.start ?? inv.period_start);
  const periodEnd = 1000 * (line?.end ?? inv.period_end);
  const paymentIntentId = await paymentIntentOf(env, inv);
  const currency = inv.currency ?? plan.currency;
  const now = Date.now();
  const paidBy = { accountId: owner.accountId, customerId: inv.customer, now };

  return {
    status: "pending",
    planOf: owner.walletId,
    statements: (owned) => [
      upsertSubscription(env, owned, { ...owner, customerId: inv.customer, now }),
      // No allowance for a period that starts after the subscription ended.
      // The payment intent, when the invoice does not carry it, comes from an
      // `invoice_payment.paid` already recorded (that event links it otherwise).
      // Only a period's allowance carries over, from the previous period's.
      env.DB.prepare(
        `INSERT INTO purchases (id, account_id, wallet_id, plan_id, kind, invoice_id, subscription_id,
           payment_intent_id, amount, currency, tokens, period_start, period_end, rollover_from_id,
           rollover_cap, billing_reason, created_at)
         SELECT ?, ?, ?, ?, 'allowance', ?, ?,
           coalesce(?, (SELECT payment_intent_id FROM stripe_events
             WHERE invoice_id = ? AND type = 'invoice_payment.paid' ORDER BY created_at LIMIT 1)),
           ?, ?, ?, ?, ?,
           CASE WHEN ? THEN (SELECT id FROM purchases WHERE subscription_id = ? AND kind = 'allowance'
              AND billing_reason IS NOT ? AND period_end <= ? ORDER BY period_end DESC LIMIT 1) END,
           ?, ?, ?
         WHERE ${owned.sql} AND NOT EXISTS (
           SELECT 1 FROM subscriptions WHERE id = ? AND status = 'canceled' AND canceled_at <= ?)
         ON CONFLICT (invoice_id) DO NOTHING`,
      ).bind(
        newId("pur"),
        owner.accountId,
        owner.walletId,
        owner.planId,
        inv.id,
        subscriptionId,
        paymentIntentId,
        inv.id,
        inv.amount_paid,
        currency,
        tokens,
        periodStart,
        periodEnd,
        period ? 1 : 0,
        subscriptionId,
        PRORATION_REASON,
        periodStart,
        period ? rolloverCap(plan) : 0,
        reason,
        now,
        ...owned.binds,
        subscriptionId,
        periodStart,
      ),
      linkPurchase(env, owned, "invoice_id", inv.id),
      markPaid(env, owned, paidBy),
      setAccountPlan(env, owned, owner),
    ],
  };
}

/**
 * `invoice_payment.paid`: the payment intent that paid an invoice. Noted on
 * the event row (an invoice recorded later reads it there) and on the
 * invoice's purchase if it is recorded; driving it then claims the refunds
 * and disputes of that payment that were waiting.
 */
export function invoicePaymentEffect(env: Env, event: StripeEventLike): EventEffect {
  const ip = read(invoicePaymentPayload, event.data.object);
  const paymentIntentId = ip.payment.type === "payment_intent" ? ip.payment.payment_intent : null;
  if (!ip.invoice || !paymentIntentId) return { status: "ignored", note: "not paid by a payment intent" };
  const invoiceId = ip.invoice;
  return {
    status: "pending",
    paymentIntentId,
    invoiceId,
    statements: (owned) => [
      env.DB.prepare(
        `UPDATE purchases SET payment_intent_id = ? WHERE invoice_id = ? AND payment_intent_id IS NULL
           AND ${owned.sql}`,
      ).bind(paymentIntentId, invoiceId, ...owned.binds),
      linkPurchase(env, owned, "invoice_id", invoiceId),
    ],
  };
}

/**
 * The payment intent that paid an invoice: from its `payments` when the event
 * carries them, else from the Invoice Payments API. A failed lookup is not
 * fatal: the `invoice_payment.paid` event links the two as well.
 */
async function paymentIntentOf(env: Env, inv: z.output<typeof invoicePayload>): Promise<string | null> {
  const carried = inv.payments?.data[0]?.payment?.payment_intent;
  if (carried) return carried;
  if (!stripeConfigured(env)) return null;
  try {
    const list = await stripeClient(env).invoicePayments.list({ invoice: inv.id, status: "paid", limit: 1 });
    const first = list.data[0];
    if (!first) return null;
    const payment = read(invoicePaymentPayload, first).payment;
    return payment.type === "payment_intent" ? payment.payment_intent : null;
  } catch (error) {
    log("warn", "stripe.invoice_payments_failed", { invoiceId: inv.id, error: String(error) });
    return null;
  }
}

type Status = (typeof SUBSCRIPTION_STATUSES)[number];

/** Stripe's statuses in ours: only `active` (and a trial) gives the plan's features. */
function statusOf(stripeStatus: string): Status {
  if (stripeStatus === "active" || stripeStatus === "trialing") return "active";
  if (stripeStatus === "past_due") return "past_due";
  if (stripeStatus === "canceled" || stripeStatus === "incomplete_expired") return "canceled";
  return "unpaid"; // unpaid, incomplete, paused: not paid for now
}

/**
 * `customer.subscription.updated` / `deleted`: the subscription's status,
 * newest event first (`created`), canceled for good. The account's plan
 * follows in the same batch.
 */
export async function subscriptionStatusEffect(env: Env, event: StripeEventLike): Promise<EventEffect> {
  const sub = read(subscriptionPayload, event.data.object);
  const owner = await subscriptionOwner(env, sub.id, sub.metadata, sub.customer);
  if (!owner) return { status: "ignored", note: "subscription without account or plan" };
  const status = event.type === "customer.subscription.deleted" ? "canceled" : statusOf(sub.status);
  const endedAt = status === "canceled" ? 1000 * (sub.ended_at ?? sub.canceled_at ?? event.created) : null;
  const now = Date.now();
  return {
    status: "done",
    note: `subscription ${status}`,
    planOf: owner.walletId,
    statements: (owned) => [
      env.DB.prepare(
        `INSERT INTO subscriptions (id, account_id, wallet_id, plan_id, customer_id, status, status_at,
           canceled_at, created_at)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE ${owned.sql}
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, status_at = excluded.status_at,
           canceled_at = coalesce(excluded.canceled_at, subscriptions.canceled_at)
         WHERE subscriptions.status <> 'canceled'
           AND (excluded.status = 'canceled' OR coalesce(subscriptions.status_at, 0) <= excluded.status_at)`,
      ).bind(
        sub.id,
        owner.accountId,
        owner.walletId,
        owner.planId,
        sub.customer,
        status,
        event.created,
        endedAt,
        now,
        ...owned.binds,
      ),
      setAccountPlan(env, owned, owner),
    ],
  };
}

/** Whose subscription this is: our own record first, then the metadata we set, then the Stripe customer. */
async function subscriptionOwner(
  env: Env,
  subscriptionId: string,
  metadata: Record<string, string>,
  customerId: string | null,
): Promise<SubscriptionOwner | null> {
  const known = await db(env.DB).query.subscriptions.findFirst({
    where: eq(subscriptions.id, subscriptionId),
  });
  const accountId = known?.accountId ?? metadata.accountId ?? (await accountByCustomer(env, customerId));
  const planId = known?.planId ?? metadata.planId;
  if (!accountId || !planId) return null;
  const walletId = known?.walletId ?? metadata.walletId ?? accountId;
  return { subscriptionId, accountId, walletId, planId };
}

async function accountByCustomer(env: Env, customerId: string | null): Promise<string | undefined> {
  if (!customerId) return undefined;
  const row = await db(env.DB).query.accounts.findFirst({
    where: eq(accounts.stripeCustomerId, customerId),
    columns: { id: true },
  });
  return row?.id;
}
