/**
 * Stripe objects for test events. The builders follow the published fixtures
 * of Stripe's OpenAPI repository (stripe/openapi, openapi/fixtures3.json,
 * `resources`): the same field names and nesting, a subset of each object's
 * fields, our own values. None has a field the fixture lacks: since
 * 2025-03-31.basil an invoice has no top-level payment_intent, charge or
 * subscription, and a charge has no invoice.
 */
import { newId } from "../../worker/lib/ids";

const unique = () => newId("evt").slice(4);
const nowSec = () => Math.floor(Date.now() / 1000);
const DAY = 24 * 60 * 60;

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
