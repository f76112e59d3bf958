import { createExecutionContext, env } from "cloudflare:test";
import Stripe from "stripe";
import { inject } from "vitest";
import { app } from "../../worker/app";
import { db } from "../../worker/db/client";
import { accounts } from "../../worker/db/schema";
import type { Env } from "../../worker/env";
import { newId } from "../../worker/lib/ids";
import { createSession } from "../../worker/lib/session";
import { wallet } from "../../worker/wallet/client";
import type { Tokens } from "../../worker/wallet/types";

export const WEBHOOK_SECRET = "whsec_test_payments";

/** The Worker's env with Stripe configured against the loopback fake. */
export function stripeEnv(): Env {
  return {
    ...env,
    STRIPE_SECRET_KEY: "sk_test_payments",
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE: inject("fakes").stripe,
  };
}

/** The Worker's env without Stripe keys (demo billing on loopback). */
export const demoEnv = (): Env => ({ ...env });

export interface TestAccount {
  id: string;
  token: string;
}

/** A signed-in (or anonymous) account with a session, made directly in D1. */
export async function newAccount(
  opts: { kind?: "user" | "anonymous"; idHint?: string; blocked?: boolean } = {},
): Promise<TestAccount> {
  const kind = opts.kind ?? "user";
  const id = opts.idHint ? `acc_${opts.idHint}_${newId("acc").slice(4)}` : newId("acc");
  await db(env.DB)
    .insert(accounts)
    .values({
      id,
      kind,
      email: kind === "user" ? `${id}@example.test` : null,
      status: opts.blocked ? "blocked" : "active",
      createdAt: new Date(),
    });
  const { token } = await createSession(env.DB, id, kind);
  return { id, token };
}

/** Calls the app on `host` (loopback by default) with the given env. */
export async function call(
  path: string,
  opts: {
    method?: string;
    body?: unknown;
    token?: string;
    env?: Env;
    host?: string;
    headers?: Record<string, string>;
    rawBody?: string;
  } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body: string | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  return app.request(
    `http://${opts.host ?? "127.0.0.1:8787"}${path}`,
    { method: opts.method ?? (body === undefined ? "GET" : "POST"), headers, body },
    opts.env ?? stripeEnv(),
    createExecutionContext(),
  );
}

const crypto = Stripe.createSubtleCryptoProvider();

/** Delivers `event` to the webhook, signed like Stripe does (or not, per `sign`). */
export async function deliver(
  event: TestEvent,
  sign: { secret?: string; timestamp?: number; header?: string | null } = {},
): Promise<Response> {
  const payload = JSON.stringify(event);
  const header =
    sign.header !== undefined
      ? sign.header
      : await Stripe.webhooks.generateTestHeaderStringAsync({
          payload,
          secret: sign.secret ?? WEBHOOK_SECRET,
          cryptoProvider: crypto,
          ...(sign.timestamp !== undefined ? { timestamp: sign.timestamp } : {}),
        });
  return call("/api/webhooks/stripe", {
    method: "POST",
    rawBody: payload,
    headers: {
      "Content-Type": "application/json",
      ...(header === null ? {} : { "Stripe-Signature": header }),
    },
  });
}

export interface TestEvent {
  id: string;
  object: "event";
  type: string;
  created: number;
  api_version: string;
  livemode: false;
  data: { object: Record<string, unknown> };
}

const unique = () => newId("evt").slice(4);
const nowSec = () => Math.floor(Date.now() / 1000);
export const DAY = 24 * 60 * 60;

export function event(type: string, object: Record<string, unknown>, id = `evt_${unique()}`): TestEvent {
  return {
    id,
    object: "event",
    type,
    created: nowSec(),
    api_version: "2026-10-28.endive",
    livemode: false,
    data: { object },
  };
}

// The payload builders below follow the published fixtures of Stripe's
// OpenAPI repository (stripe/openapi, openapi/fixtures3.json, `resources`):
// the same field names and nesting, a subset of each object's fields, our own
// values. None has a field the fixture lacks: since 2025-03-31.basil an
// invoice has no top-level payment_intent, charge or subscription, and a
// charge has no invoice.

/** A Checkout Session for a pack, as in checkout.session.* events (fixture `checkout.session`). */
export function packSession(
  accountId: string,
  planId: string,
  opts: { amount?: number; paymentStatus?: string; sessionId?: string; paymentIntent?: string } = {},
) {
  const id = opts.sessionId ?? `cs_test_${unique()}`;
  return {
    id,
    object: "checkout.session",
    amount_subtotal: opts.amount ?? 1900,
    amount_total: opts.amount ?? 1900,
    cancel_url: "http://127.0.0.1:8787/api/billing/cancel",
    client_reference_id: accountId,
    created: nowSec(),
    currency: "usd",
    customer: null,
    expires_at: nowSec() + DAY,
    invoice: null,
    livemode: false,
    metadata: { planId },
    mode: "payment",
    payment_intent: opts.paymentIntent ?? `pi_${unique()}`,
    payment_status: opts.paymentStatus ?? "paid",
    status: "complete",
    subscription: null,
    success_url: "http://127.0.0.1:8787/api/billing/success",
    url: null,
  };
}

/** A subscription's Checkout Session (fixture `checkout.session`, mode subscription). */
export function subscriptionSession(
  accountId: string,
  planId: string,
  ids: { session: string; customer: string; subscription: string },
  opts: { amount?: number } = {},
) {
  return {
    ...packSession(accountId, planId, { sessionId: ids.session, amount: opts.amount ?? 1500 }),
    customer: ids.customer,
    mode: "subscription",
    payment_intent: null,
    subscription: ids.subscription,
  };
}

/** A charge as in charge.refunded (fixture `charge`): no `invoice`, found by its payment intent. */
export function charge(paymentIntent: string, amount: number, amountRefunded: number) {
  return {
    id: `ch_${unique()}`,
    object: "charge",
    amount,
    amount_captured: amount,
    amount_refunded: amountRefunded,
    captured: true,
    created: nowSec(),
    currency: "usd",
    customer: null,
    disputed: false,
    livemode: false,
    metadata: {},
    paid: true,
    payment_intent: paymentIntent,
    refunded: amountRefunded >= amount,
    status: "succeeded",
  };
}

/** A dispute as in charge.dispute.* (fixture `dispute`). */
export function dispute(paymentIntent: string, amount: number) {
  return {
    id: `dp_${unique()}`,
    object: "dispute",
    amount,
    charge: `ch_${unique()}`,
    created: nowSec(),
    currency: "usd",
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: paymentIntent,
    reason: "fraudulent",
    status: "needs_response",
  };
}

/**
 * A paid subscription invoice as in invoice.paid (fixture `invoice`): the
 * subscription under `parent.subscription_details`, one line whose `parent`
 * says whether it is a proration, no payment intent (see `invoicePayment`).
 */
export function invoice(
  accountId: string,
  planId: string,
  subscriptionId: string,
  period: { start: number; end: number },
  opts: { amount?: number; invoiceId?: string; billingReason?: string; proration?: boolean } = {},
) {
  const id = opts.invoiceId ?? `in_${unique()}`;
  const amount = opts.amount ?? 1500;
  return {
    id,
    object: "invoice",
    amount_due: amount,
    amount_paid: amount,
    amount_remaining: 0,
    billing_reason: opts.billingReason ?? "subscription_cycle",
    collection_method: "charge_automatically",
    created: nowSec(),
    currency: "usd",
    customer: null,
    livemode: false,
    metadata: {},
    parent: {
      quote_details: null,
      subscription_details: { metadata: { accountId, planId }, subscription: subscriptionId },
      type: "subscription_details",
    },
    lines: {
      object: "list",
      data: [
        {
          id: `il_${unique()}`,
          object: "line_item",
          amount,
          currency: "usd",
          invoice: id,
          livemode: false,
          metadata: {},
          period,
          parent: {
            invoice_item_details: null,
            subscription_item_details: {
              invoice_item: null,
              proration: opts.proration ?? false,
              proration_details: { credited_items: null },
              subscription: subscriptionId,
              subscription_item: `si_${unique()}`,
            },
            type: "subscription_item_details",
          },
          quantity: 1,
        },
      ],
      has_more: false,
      url: `/v1/invoices/${id}/lines`,
    },
    period_end: period.start,
    period_start: period.start,
    status: "paid",
    status_transitions: {
      finalized_at: nowSec(),
      marked_uncollectible_at: null,
      paid_at: nowSec(),
      voided_at: null,
    },
    subtotal: amount,
    total: amount,
  };
}

/** The payment of an invoice as in invoice_payment.paid (fixture `invoice_payment`): links it to its payment intent. */
export function invoicePayment(invoiceId: string, paymentIntent: string, amount = 1500) {
  return {
    id: `inpay_${unique()}`,
    object: "invoice_payment",
    amount_paid: amount,
    amount_requested: amount,
    created: nowSec(),
    currency: "usd",
    invoice: invoiceId,
    is_default: true,
    livemode: false,
    payment: { payment_intent: paymentIntent, type: "payment_intent" },
    status: "paid",
    status_transitions: { canceled_at: null, paid_at: nowSec() },
  };
}

/** A subscription as in customer.subscription.* (fixture `subscription`). */
export function subscription(
  accountId: string,
  planId: string,
  subscriptionId: string,
  status: string,
  opts: { canceledAt?: number | null; endedAt?: number | null } = {},
) {
  const start = nowSec() - DAY;
  return {
    id: subscriptionId,
    object: "subscription",
    cancel_at_period_end: false,
    canceled_at: opts.canceledAt ?? null,
    created: start,
    currency: "usd",
    customer: null,
    ended_at: opts.endedAt ?? null,
    items: {
      object: "list",
      data: [
        {
          id: `si_${unique()}`,
          object: "subscription_item",
          created: start,
          current_period_end: start + 30 * DAY,
          current_period_start: start,
          metadata: {},
          quantity: 1,
          subscription: subscriptionId,
        },
      ],
      has_more: false,
      url: `/v1/subscription_items?subscription=${subscriptionId}`,
    },
    latest_invoice: null,
    livemode: false,
    metadata: { accountId, planId },
    start_date: start,
    status,
  };
}

export async function tokensOf(accountId: string): Promise<Tokens> {
  return wallet(env, accountId).balance();
}

export async function availableOf(accountId: string): Promise<number> {
  return (await tokensOf(accountId)).available;
}

/** Spends `amount` tokens the way a generation does: hold, then settle. */
export async function spend(accountId: string, amount: number): Promise<void> {
  const w = wallet(env, accountId);
  const hold = await w.reserve({ key: `spend-${unique()}`, amount, ttlMs: 60_000 });
  if (!hold.ok) throw new Error(`reserve failed: ${hold.code}`);
  const settled = await w.settle({ holdId: hold.holdId, amount, description: "test usage" });
  if (!settled.ok) throw new Error(`settle failed: ${settled.code}`);
}

export { nowSec };
