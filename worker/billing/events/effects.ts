/**
 * The effects of payments on our tables (step 1 of docs/decisions/003-payments.md):
 * a paid Checkout Session, a paid invoice, a subscription's end.
 */
import { eq } from "drizzle-orm";
import { db } from "../../db/client";
import { accounts, checkouts, subscriptions } from "../../db/schema";
import type { Env } from "../../env";
import { newId } from "../../lib/ids";
import { planById, rolloverCap } from "../plans";
import { asRecord, idOf, int, optStr, str } from "./payload";
import type { EventEffect, Owned, StripeEventLike } from "./types";

export async function checkoutEffect(
  env: Env,
  event: StripeEventLike,
  s: Record<string, unknown>,
): Promise<EventEffect> {
  const sessionId = str(s.id, "id");
  const paid = s.payment_status === "paid" || s.payment_status === "no_payment_required";
  if (event.type === "checkout.session.completed" && !paid) {
    // Bank debits and the like: the money arrives later with async_payment_succeeded.
    return { status: "ignored", note: `payment ${String(s.payment_status)}; waiting for async payment` };
  }
  const d = db(env.DB);
  const checkout = await d.query.checkouts.findFirst({ where: eq(checkouts.id, sessionId) });
  const metadata = asRecord(s.metadata ?? {});
  // Our own record of the session wins over what the event says.
  const accountId = checkout?.accountId ?? optStr(s.client_reference_id);
  const planId = checkout?.planId ?? optStr(metadata.planId);
  if (!accountId || !planId) return { status: "ignored", note: "session without account or plan" };
  const [account, plan] = await Promise.all([
    d.query.accounts.findFirst({ where: eq(accounts.id, accountId) }),
    planById(d, planId),
  ]);
  if (!account) return { status: "ignored", note: `unknown account ${accountId}` };
  if (!plan) return { status: "ignored", note: `unknown plan ${planId}` };
  const customerId = idOf(s.customer);
  const now = Date.now();
  const paidBy = { accountId, customerId, now };

  if (plan.kind === "subscription") {
    const subscriptionId = idOf(s.subscription);
    if (!subscriptionId) return { status: "ignored", note: "subscription session without a subscription" };
    // The allowance comes with invoice.paid; this only records the subscription.
    return {
      status: "done",
      statements: (owned) => [
        upsertSubscription(env, owned, { subscriptionId, accountId, planId, customerId, now }),
        markPaid(env, owned, paidBy),
        setAccountPlan(env, owned, { accountId, planId, subscriptionId }),
      ],
    };
  }

  const tokens = checkout?.tokens ?? plan.tokens;
  const amount = typeof s.amount_total === "number" ? s.amount_total : (checkout?.amount ?? plan.priceAmount);
  const currency = optStr(s.currency) ?? checkout?.currency ?? plan.currency;
  const paymentIntentId = idOf(s.payment_intent);
  return {
    status: "pending",
    statements: (owned) => [
      env.DB.prepare(
        `INSERT INTO purchases (id, account_id, plan_id, kind, checkout_session_id, payment_intent_id,
           amount, currency, tokens, created_at)
         SELECT ?, ?, ?, 'pack', ?, ?, ?, ?, ?, ? WHERE ${owned.sql}
         ON CONFLICT (checkout_session_id) DO NOTHING`,
      ).bind(
        newId("pur"),
        accountId,
        planId,
        sessionId,
        paymentIntentId,
        amount,
        currency,
        tokens,
        now,
        ...owned.binds,
      ),
      linkPurchase(env, owned, "checkout_session_id", sessionId),
      markPaid(env, owned, paidBy),
    ],
  };
}

export async function invoiceEffect(env: Env, inv: Record<string, unknown>): Promise<EventEffect> {
  const invoiceId = str(inv.id, "id");
  // API versions moved the subscription under `parent.subscription_details`.
  const details = asRecord(asRecord(inv.parent ?? {}).subscription_details ?? inv.subscription_details ?? {});
  const subscriptionId = idOf(details.subscription) ?? idOf(inv.subscription);
  if (!subscriptionId) return { status: "ignored", note: "invoice without a subscription" };
  const d = db(env.DB);
  const customerId = idOf(inv.customer);
  const { accountId, planId } = await subscriptionOwner(env, subscriptionId, details.metadata, customerId);
  if (!accountId || !planId) return { status: "ignored", note: "invoice without account or plan" };
  const [account, plan] = await Promise.all([
    d.query.accounts.findFirst({ where: eq(accounts.id, accountId) }),
    planById(d, planId),
  ]);
  if (!account) return { status: "ignored", note: `unknown account ${accountId}` };
  if (plan?.kind !== "subscription") return { status: "ignored", note: `unknown plan ${planId}` };

  const lines = asRecord(inv.lines ?? {});
  const lineList = Array.isArray(lines.data) ? lines.data.map(asRecord) : [];
  const period = asRecord(lineList[0]?.period ?? {});
  const periodStart =
    1000 * (typeof period.start === "number" ? period.start : int(inv.period_start, "period_start"));
  const periodEnd = 1000 * (typeof period.end === "number" ? period.end : int(inv.period_end, "period_end"));
  const payments = asRecord(inv.payments ?? {});
  const firstPayment =
    Array.isArray(payments.data) && payments.data[0]
      ? asRecord(asRecord(payments.data[0]).payment ?? {})
      : {};
  const paymentIntentId = idOf(inv.payment_intent) ?? idOf(firstPayment.payment_intent);
  const amount = int(inv.amount_paid, "amount_paid");
  const currency = optStr(inv.currency) ?? plan.currency;
  const now = Date.now();

  return {
    status: "pending",
    statements: (owned) => [
      upsertSubscription(env, owned, { subscriptionId, accountId, planId, customerId, now }),
      // No allowance for a period that starts after the subscription ended.
      env.DB.prepare(
        `INSERT INTO purchases (id, account_id, plan_id, kind, invoice_id, subscription_id, payment_intent_id,
           amount, currency, tokens, period_start, period_end, rollover_from_id, rollover_cap, created_at)
         SELECT ?, ?, ?, 'allowance', ?, ?, ?, ?, ?, ?, ?, ?,
           (SELECT id FROM purchases WHERE subscription_id = ? AND kind = 'allowance' AND period_end <= ?
              ORDER BY period_end DESC LIMIT 1),
           ?, ?
         WHERE ${owned.sql} AND NOT EXISTS (
           SELECT 1 FROM subscriptions WHERE id = ? AND status = 'canceled' AND canceled_at <= ?)
         ON CONFLICT (invoice_id) DO NOTHING`,
      ).bind(
        newId("pur"),
        accountId,
        planId,
        invoiceId,
        subscriptionId,
        paymentIntentId,
        amount,
        currency,
        plan.tokens,
        periodStart,
        periodEnd,
        subscriptionId,
        periodStart,
        rolloverCap(plan),
        now,
        ...owned.binds,
        subscriptionId,
        periodStart,
      ),
      linkPurchase(env, owned, "invoice_id", invoiceId),
      markPaid(env, owned, { accountId, customerId, now }),
      setAccountPlan(env, owned, { accountId, planId, subscriptionId }),
    ],
  };
}

export async function cancellationEffect(
  env: Env,
  event: StripeEventLike,
  sub: Record<string, unknown>,
): Promise<EventEffect> {
  const subscriptionId = str(sub.id, "id");
  const customerId = idOf(sub.customer);
  const { accountId, planId } = await subscriptionOwner(env, subscriptionId, sub.metadata, customerId);
  if (!accountId || !planId) return { status: "ignored", note: "subscription without account or plan" };
  const endedAt =
    1000 *
    (typeof sub.ended_at === "number"
      ? sub.ended_at
      : typeof sub.canceled_at === "number"
        ? sub.canceled_at
        : event.created);
  const now = Date.now();
  return {
    status: "done",
    statements: (owned) => [
      env.DB.prepare(
        `INSERT INTO subscriptions (id, account_id, plan_id, customer_id, status, canceled_at, created_at)
         SELECT ?, ?, ?, ?, 'canceled', ?, ? WHERE ${owned.sql}
         ON CONFLICT (id) DO UPDATE SET status = 'canceled', canceled_at = excluded.canceled_at`,
      ).bind(subscriptionId, accountId, planId, customerId, endedAt, now, ...owned.binds),
      env.DB.prepare(
        `UPDATE accounts SET plan = NULL
         WHERE id = ? AND plan = ? AND ${owned.sql} AND NOT EXISTS (
           SELECT 1 FROM subscriptions WHERE account_id = ? AND plan_id = ? AND status = 'active')`,
      ).bind(accountId, planId, ...owned.binds, accountId, planId),
    ],
  };
}

/** Whose subscription this is: our own record first, then the metadata we set, then the Stripe customer. */
async function subscriptionOwner(
  env: Env,
  subscriptionId: string,
  metadata: unknown,
  customerId: string | null,
): Promise<{ accountId?: string; planId?: string }> {
  const known = await db(env.DB).query.subscriptions.findFirst({
    where: eq(subscriptions.id, subscriptionId),
  });
  const meta = asRecord(metadata ?? {});
  return {
    accountId: known?.accountId ?? optStr(meta.accountId) ?? (await accountByCustomer(env, customerId)),
    planId: known?.planId ?? optStr(meta.planId),
  };
}

/** The account's first payment and its Stripe customer; neither is overwritten once set. */
function markPaid(env: Env, owned: Owned, s: { accountId: string; customerId: string | null; now: number }) {
  return env.DB.prepare(
    `UPDATE accounts SET first_paid_at = coalesce(first_paid_at, ?),
       stripe_customer_id = coalesce(stripe_customer_id, ?)
     WHERE id = ? AND ${owned.sql}`,
  ).bind(s.now, s.customerId, s.accountId, ...owned.binds);
}

/** Points the event at the purchase it made (or found already made). */
function linkPurchase(env: Env, owned: Owned, column: "checkout_session_id" | "invoice_id", value: string) {
  return env.DB.prepare(
    `UPDATE stripe_events SET purchase_id = (SELECT id FROM purchases WHERE ${column} = ?)
     WHERE id = ? AND claim = ?`,
  ).bind(value, ...owned.binds);
}

function upsertSubscription(
  env: Env,
  owned: Owned,
  s: { subscriptionId: string; accountId: string; planId: string; customerId: string | null; now: number },
) {
  // Never revives a subscription already recorded as canceled (events come in any order).
  return env.DB.prepare(
    `INSERT INTO subscriptions (id, account_id, plan_id, customer_id, status, created_at)
     SELECT ?, ?, ?, ?, 'active', ? WHERE ${owned.sql}
     ON CONFLICT (id) DO NOTHING`,
  ).bind(s.subscriptionId, s.accountId, s.planId, s.customerId, s.now, ...owned.binds);
}

function setAccountPlan(
  env: Env,
  owned: Owned,
  s: { accountId: string; planId: string; subscriptionId: string },
) {
  return env.DB.prepare(
    `UPDATE accounts SET plan = ?
     WHERE id = ? AND ${owned.sql} AND EXISTS (SELECT 1 FROM subscriptions WHERE id = ? AND status = 'active')`,
  ).bind(s.planId, s.accountId, ...owned.binds, s.subscriptionId);
}

async function accountByCustomer(env: Env, customerId: string | null): Promise<string | undefined> {
  if (!customerId) return undefined;
  const row = await db(env.DB).query.accounts.findFirst({
    where: eq(accounts.stripeCustomerId, customerId),
    columns: { id: true },
  });
  return row?.id;
}
