/**
 * The effects of payments on our tables (step 1 of docs/decisions/003-payments.md):
 * a paid Checkout Session here, and the statements invoices and subscription
 * events share (./subscriptions.ts holds those events themselves).
 */
import { eq } from "drizzle-orm";
import { db } from "../../db/client";
import { accounts, checkouts } from "../../db/schema";
import type { Env } from "../../env";
import { newId } from "../../lib/ids";
import { log } from "../../lib/log";
import { TEAM_ID } from "../../teams/membership";
import { wallet } from "../../wallet/client";
import { proRata } from "../../wallet/ledger";
import { activePlanOf, planById } from "../plans";
import { checkoutSessionPayload, read } from "./payload";
import type { EventEffect, Owned, StripeEventLike } from "./types";

export async function checkoutEffect(env: Env, event: StripeEventLike): Promise<EventEffect> {
  const s = read(checkoutSessionPayload, event.data.object);
  const sessionId = s.id;
  const paid = s.payment_status === "paid" || s.payment_status === "no_payment_required";
  if (event.type === "checkout.session.completed" && !paid) {
    // Bank debits and the like: the money arrives later with async_payment_succeeded.
    return { status: "ignored", note: `payment ${String(s.payment_status)}; waiting for async payment` };
  }
  const d = db(env.DB);
  const checkout = await d.query.checkouts.findFirst({ where: eq(checkouts.id, sessionId) });
  // Our own record of the session wins over what the event says.
  const accountId = checkout?.accountId ?? s.client_reference_id ?? undefined;
  const planId = checkout?.planId ?? s.metadata.planId;
  if (!accountId || !planId) return { status: "ignored", note: "session without account or plan" };
  const walletId = checkout?.walletId ?? s.metadata.walletId ?? accountId;
  const [account, plan] = await Promise.all([
    d.query.accounts.findFirst({ where: eq(accounts.id, accountId) }),
    planById(d, planId),
  ]);
  if (!account) return { status: "ignored", note: `unknown account ${accountId}` };
  if (!plan) return { status: "ignored", note: `unknown plan ${planId}` };
  const customerId = s.customer;
  const now = Date.now();
  const paidBy = { accountId, customerId, now };

  if (plan.kind === "subscription") {
    const subscriptionId = s.subscription;
    if (!subscriptionId) return { status: "ignored", note: "subscription session without a subscription" };
    // The allowance comes with invoice.paid; this only records the subscription.
    return {
      status: "done",
      planOf: walletId,
      statements: (owned) => [
        upsertSubscription(env, owned, { subscriptionId, accountId, walletId, planId, customerId, now }),
        markPaid(env, owned, paidBy),
        setAccountPlan(env, owned, { accountId, walletId, planId, subscriptionId }),
      ],
    };
  }

  const tokens = checkout?.tokens ?? plan.tokens;
  const amount = s.amount_total ?? checkout?.amount ?? plan.priceAmount;
  const currency = s.currency ?? checkout?.currency ?? plan.currency;
  const discounted = checkout?.discounted ?? false;
  // A second discounted payment (decision 008) buys what its money buys at the full price.
  const atListPrice = discounted ? proRata(tokens, amount, checkout?.listAmount ?? plan.priceAmount) : tokens;
  const otherDiscount = "EXISTS (SELECT 1 FROM purchases WHERE account_id = ? AND discounted = 1)";
  return {
    status: "pending",
    statements: (owned) => [
      env.DB.prepare(
        `INSERT INTO purchases (id, account_id, wallet_id, plan_id, kind, checkout_session_id, payment_intent_id,
           amount, currency, tokens, discounted, created_at)
         SELECT ?, ?, ?, ?, 'pack', ?, ?, ?, ?,
           CASE WHEN ? AND ${otherDiscount} THEN ? ELSE ? END,
           CASE WHEN ? AND NOT ${otherDiscount} THEN 1 ELSE 0 END,
           ? WHERE ${owned.sql}
         ON CONFLICT (checkout_session_id) DO NOTHING`,
      ).bind(
        newId("pur"),
        accountId,
        walletId,
        planId,
        sessionId,
        s.payment_intent,
        amount,
        currency,
        discounted ? 1 : 0,
        accountId,
        atListPrice,
        tokens,
        discounted ? 1 : 0,
        accountId,
        now,
        ...owned.binds,
      ),
      linkPurchase(env, owned, "checkout_session_id", sessionId),
      markPaid(env, owned, paidBy),
    ],
  };
}

/** The account's first payment and its Stripe customer; neither is overwritten once set. */
export function markPaid(
  env: Env,
  owned: Owned,
  s: { accountId: string; customerId: string | null; now: number },
) {
  return env.DB.prepare(
    `UPDATE accounts SET first_paid_at = coalesce(first_paid_at, ?),
       stripe_customer_id = coalesce(stripe_customer_id, ?)
     WHERE id = ? AND ${owned.sql}`,
  ).bind(s.now, s.customerId, s.accountId, ...owned.binds);
}

/** Points the event at the purchase it made (or found already made). */
export function linkPurchase(
  env: Env,
  owned: Owned,
  column: "checkout_session_id" | "invoice_id",
  value: string,
) {
  return env.DB.prepare(
    `UPDATE stripe_events SET purchase_id = (SELECT id FROM purchases WHERE ${column} = ?)
     WHERE id = ? AND claim = ?`,
  ).bind(value, ...owned.binds);
}

export interface SubscriptionOwner {
  subscriptionId: string;
  accountId: string;
  walletId: string;
  planId: string;
}

export function upsertSubscription(
  env: Env,
  owned: Owned,
  s: SubscriptionOwner & { customerId: string | null; now: number },
) {
  // Never revives a subscription already recorded as canceled (events come in any order).
  return env.DB.prepare(
    `INSERT INTO subscriptions (id, account_id, wallet_id, plan_id, customer_id, status, created_at)
     SELECT ?, ?, ?, ?, ?, 'active', ? WHERE ${owned.sql}
     ON CONFLICT (id) DO NOTHING`,
  ).bind(s.subscriptionId, s.accountId, s.walletId, s.planId, s.customerId, s.now, ...owned.binds);
}

/**
 * The account's plan (its features) follows its own subscription while that
 * is active. A team's subscription does not change the buyer's plan.
 */
export function setAccountPlan(env: Env, owned: Owned, s: SubscriptionOwner) {
  return env.DB.prepare(
    `UPDATE accounts SET plan = CASE
       WHEN EXISTS (SELECT 1 FROM subscriptions WHERE id = ? AND status = 'active') THEN ?
       WHEN plan = ? THEN NULL ELSE plan END
     WHERE id = ? AND id = ? AND ${owned.sql}`,
  ).bind(s.subscriptionId, s.planId, s.planId, s.accountId, s.walletId, ...owned.binds);
}

/**
 * After a batch that may have changed a wallet's plan, the wallet (which
 * answers the generate route's plan check, access.ts) gets what D1 now says:
 * the team's active subscription for a team, `accounts.plan` for an account.
 * A plan gives features, not tokens, so it follows D1 rather than leading it;
 * a lost push leaves the old plan until the wallet reads its owner state
 * again, at most OWNER_REFRESH_MS after the last push (access.ts, decision 017).
 */
export async function pushPlan(env: Env, walletId: string): Promise<void> {
  try {
    const d = db(env.DB);
    const plan = TEAM_ID.test(walletId)
      ? await activePlanOf(d, walletId)
      : ((await d.query.accounts.findFirst({ where: eq(accounts.id, walletId), columns: { plan: true } }))
          ?.plan ?? null);
    await wallet(env, walletId).setOwnerState({ plan });
  } catch (error) {
    log("warn", "billing.plan_push_failed", { walletId, error: String(error) });
  }
}
