/**
 * Applies Stripe events (docs/decisions/003-payments.md): each event id takes
 * effect at most once, in any order, under concurrent deliveries.
 *
 * Two steps, both safe to repeat:
 * 1. One D1 batch records the event id together with its effect on our tables
 *    (a purchase row, a subscription's status, a claimed refund range). The
 *    event row's insert is `ON CONFLICT DO NOTHING` with a random claim, and
 *    every other statement runs only if that claim won, so a duplicate
 *    delivery changes nothing.
 * 2. A wallet step, if any, driven from the committed rows: grants keyed by the
 *    purchase id, clawbacks keyed by the event id, a won dispute's restored
 *    tokens keyed by the dispute id. Their arguments come only from immutable
 *    D1 state, so a retry after a crash replays the same operation and the
 *    wallet applies it once. The event stays `pending` until this step is
 *    done; any later delivery drives it again.
 *
 * The demo checkout builds the same events and calls `applyEvent` directly.
 */
import { and, eq, inArray, isNull, or, sql } from "drizzle-orm";
import { db } from "../db/client";
import { accounts, checkouts, purchases, stripeEvents, subscriptions } from "../db/schema";
import type { Env } from "../env";
import { newId, randomToken } from "../lib/ids";
import { log } from "../lib/log";
import { wallet } from "../wallet/client";
import { proRata } from "../wallet/ledger";
import { planById, rolloverCap } from "./plans";

/** The parts of a Stripe event we read; fields are checked where they are used. */
export interface StripeEventLike {
  id: string;
  type: string;
  created: number;
  data: { object: unknown };
}

export type EventOutcome = "done" | "ignored" | "deferred" | "pending";

export interface ApplyResult {
  eventId: string;
  status: EventOutcome;
  duplicate: boolean;
  note?: string;
}

/** A payload we cannot read (a signed event, so Stripe's side or an API version change). */
export class UnreadableEvent extends Error {}

type EventRow = typeof stripeEvents.$inferSelect;
type PurchaseRow = typeof purchases.$inferSelect;

/** Events that take tokens back from a purchase or give them back. */
const REVERSALS = ["charge.refunded", "charge.dispute.created", "charge.dispute.closed"];

interface Plan {
  /** Status of the event row when it is first recorded. */
  status: EventOutcome;
  note?: string;
  paymentIntentId?: string | null;
  reversalAmount?: number | null;
  disputeId?: string | null;
  /** The event's effect on our tables, each run only if this delivery's claim won. */
  statements?: (owned: Owned) => D1PreparedStatement[];
}

/** SQL condition (and its bindings) true only for the delivery whose insert won. */
interface Owned {
  sql: string;
  binds: [string, string];
}

export async function applyEvent(env: Env, event: StripeEventLike): Promise<ApplyResult> {
  const existing = await findEvent(env, event.id);
  if (existing) return { ...(await resume(env, existing)), duplicate: true };

  const plan = await planEvent(env, event);
  const claim = randomToken(12);
  const owned: Owned = {
    sql: "EXISTS (SELECT 1 FROM stripe_events WHERE id = ? AND claim = ?)",
    binds: [event.id, claim],
  };
  const now = Date.now();
  const statements = [
    env.DB.prepare(
      `INSERT INTO stripe_events (id, type, status, claim, payment_intent_id, reversal_amount, dispute_id, note,
         created_at, processed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ).bind(
      event.id,
      event.type,
      plan.status,
      claim,
      plan.paymentIntentId ?? null,
      plan.reversalAmount ?? null,
      plan.disputeId ?? null,
      plan.note ?? null,
      now,
      plan.status === "done" || plan.status === "ignored" ? now : null,
    ),
    ...(plan.statements?.(owned) ?? []),
  ];
  // A refund or dispute is claimed against its purchase in the same batch when
  // the purchase is already paid (a won dispute, when its chargeback is done);
  // otherwise it waits as `deferred`.
  if (plan.status === "deferred") statements.push(...claimWaiting(env, event));
  await env.DB.batch(statements);

  const row = await findEvent(env, event.id);
  if (!row) throw new Error(`stripe event ${event.id} was not recorded`);
  if (plan.status === "ignored") log("info", "stripe.event_ignored", { eventId: event.id, note: plan.note });
  return { ...(await resume(env, row)), duplicate: row.claim !== claim };
}

/** Drives a recorded event's remaining wallet step, if it has one. */
async function resume(env: Env, row: EventRow): Promise<Omit<ApplyResult, "duplicate">> {
  if (row.status === "pending") {
    await drive(env, row);
    const after = await findEvent(env, row.id);
    return { eventId: row.id, status: after?.status ?? "pending", note: after?.note ?? undefined };
  }
  if (row.status === "deferred") {
    // A redelivered refund may find its purchase paid by now.
    await env.DB.batch(claimWaiting(env, row));
    const after = await findEvent(env, row.id);
    if (after?.status === "pending") return resume(env, after);
  }
  return { eventId: row.id, status: row.status, note: row.note ?? undefined };
}

/**
 * Re-drives events left `pending` by a crash or a failed wallet call. Stripe's
 * redelivery does this too, for a while; the cron calls this for the events it
 * gave up on. One event that still fails does not hold up the others.
 */
export async function drivePendingEvents(env: Env, limit = 50): Promise<{ driven: number; failed: number }> {
  const rows = await db(env.DB)
    .select()
    .from(stripeEvents)
    .where(eq(stripeEvents.status, "pending"))
    .orderBy(stripeEvents.createdAt)
    .limit(limit);
  let driven = 0;
  let failed = 0;
  for (const row of rows) {
    try {
      await drive(env, row);
      driven++;
    } catch (error) {
      failed++;
      log("warn", "stripe.drive_failed", { eventId: row.id, error: String(error) });
    }
  }
  // A won dispute is claimed right after its chargeback is done; should that
  // claim have failed, nothing else would try it again.
  const won = await db(env.DB)
    .select()
    .from(stripeEvents)
    .where(and(eq(stripeEvents.status, "deferred"), eq(stripeEvents.type, "charge.dispute.closed")))
    .orderBy(stripeEvents.createdAt)
    .limit(limit);
  for (const row of won) {
    try {
      if ((await resume(env, row)).status !== "deferred") driven++;
    } catch (error) {
      failed++;
      log("warn", "stripe.drive_failed", { eventId: row.id, error: String(error) });
    }
  }
  return { driven, failed };
}

// ── step 1: the event's effect on our tables ─────────────────────────────

async function planEvent(env: Env, event: StripeEventLike): Promise<Plan> {
  const o = asRecord(event.data?.object);
  switch (event.type) {
    case "checkout.session.completed":
    case "checkout.session.async_payment_succeeded":
      return planCheckout(env, event, o);
    case "invoice.paid":
      return planInvoice(env, o);
    case "customer.subscription.deleted":
      return planCancellation(env, event, o);
    case "charge.refunded": {
      const paymentIntentId = idOf(o.payment_intent);
      const refunded = int(o.amount_refunded, "amount_refunded");
      if (!paymentIntentId) return { status: "ignored", note: "charge without a payment intent" };
      return { status: "deferred", paymentIntentId, reversalAmount: refunded };
    }
    case "charge.dispute.created": {
      const paymentIntentId = idOf(o.payment_intent);
      const disputed = int(o.amount, "amount");
      if (!paymentIntentId) return { status: "ignored", note: "dispute without a payment intent" };
      return { status: "deferred", paymentIntentId, reversalAmount: disputed, disputeId: optStr(o.id) };
    }
    // The dispute's end, keyed on `charge.dispute.closed` with status `won`
    // rather than `charge.dispute.funds_reinstated`: Stripe also reinstates
    // funds when a dispute of a partly refunded payment is *lost* (the refunded
    // part comes back; status `lost`, "partially won" in the Dashboard), so
    // that event does not say the customer's claim failed. `closed` comes once
    // per dispute with its final status. `won` gives the tokens back, and so
    // does `warning_closed`: an inquiry that ended without becoming a
    // chargeback, so no money ever left us. `lost` and the rest change nothing.
    case "charge.dispute.closed": {
      const status = optStr(o.status) ?? "unknown";
      if (status !== "won" && status !== "warning_closed") {
        return { status: "ignored", note: `dispute ${status}: nothing to restore` };
      }
      const paymentIntentId = idOf(o.payment_intent);
      if (!paymentIntentId) return { status: "ignored", note: "dispute without a payment intent" };
      return { status: "deferred", paymentIntentId, disputeId: str(o.id, "id") };
    }
    default:
      return { status: "ignored", note: "event type not handled" };
  }
}

async function planCheckout(env: Env, event: StripeEventLike, s: Record<string, unknown>): Promise<Plan> {
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

async function planInvoice(env: Env, inv: Record<string, unknown>): Promise<Plan> {
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

async function planCancellation(
  env: Env,
  event: StripeEventLike,
  sub: Record<string, unknown>,
): Promise<Plan> {
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

/**
 * Moves a `deferred` refund or dispute to `pending` once its purchase exists,
 * claiming the range of reversed money it adds: `reversed_from` is the
 * purchase's reversed amount before, `reversed_to` after. D1 runs a batch as
 * one transaction, so concurrent events claim disjoint ranges, and their
 * clawbacks add up to the pro-rata share of the final reversed amount in any
 * order. Safe to run any number of times, by anyone.
 */
function claimReversal(env: Env, eventId: string): D1PreparedStatement[] {
  const purchaseOf = `(SELECT p.id FROM purchases p, stripe_events e
      WHERE e.id = ? AND p.payment_intent_id = e.payment_intent_id ORDER BY p.created_at LIMIT 1)`;
  return [
    env.DB.prepare(
      `UPDATE stripe_events SET status = 'pending', purchase_id = ${purchaseOf}
       WHERE id = ? AND status = 'deferred' AND ${purchaseOf} IS NOT NULL`,
    ).bind(eventId, eventId, eventId),
    noteReversed(env, eventId, "reversed_from"),
    env.DB.prepare(
      `UPDATE purchases SET
         refunded_amount = CASE WHEN e.type = 'charge.refunded'
           THEN max(refunded_amount, e.reversal_amount) ELSE refunded_amount END,
         disputed_amount = CASE WHEN e.type = 'charge.dispute.created'
           THEN max(disputed_amount, e.reversal_amount) ELSE disputed_amount END
       FROM (SELECT * FROM stripe_events WHERE id = ? AND status = 'pending' AND reversed_to IS NULL) AS e
       WHERE purchases.id = e.purchase_id`,
    ).bind(eventId),
    noteReversed(env, eventId, "reversed_to"),
  ];
}

/**
 * Moves a `deferred` won dispute to `pending` once its chargeback (the
 * dispute's `charge.dispute.created`) is done, so what it took is known, and
 * no other refund or dispute of the purchase is still pending (see
 * `restoredGrants` for why). In the same transaction the purchase's disputed
 * amount goes back to 0 (Stripe lets a charge be disputed once), noting the
 * purchase's reversed amount before and after as `claimReversal` does, so a
 * later refund claims its range from what is really reversed. A second
 * `closed` event for a dispute already restored is ignored. Safe to run any
 * number of times, by anyone.
 */
function claimRestore(env: Env, eventId: string): D1PreparedStatement[] {
  const chargeback = `(SELECT c.purchase_id, c.status FROM stripe_events c, stripe_events e
      WHERE e.id = ? AND ${sameDispute("c", "e")} ORDER BY c.created_at, c.id LIMIT 1)`;
  return [
    env.DB.prepare(
      `UPDATE stripe_events SET status = 'ignored', note = 'dispute already restored', processed_at = ?
       WHERE id = ? AND status = 'deferred' AND EXISTS (SELECT 1 FROM stripe_events o
         WHERE o.payment_intent_id = stripe_events.payment_intent_id AND o.dispute_id = stripe_events.dispute_id
           AND o.type = 'charge.dispute.closed' AND o.status IN ('pending', 'done') AND o.id <> stripe_events.id)`,
    ).bind(Date.now(), eventId),
    env.DB.prepare(
      `UPDATE stripe_events SET status = 'pending', purchase_id = c.purchase_id
       FROM ${chargeback} AS c
       WHERE stripe_events.id = ? AND stripe_events.status = 'deferred'
         AND c.status = 'done' AND c.purchase_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM stripe_events o
           WHERE o.payment_intent_id = stripe_events.payment_intent_id AND o.purchase_id = c.purchase_id
             AND o.status = 'pending' AND o.type IN (${REVERSALS.map((t) => `'${t}'`).join(", ")}))`,
    ).bind(eventId, eventId),
    noteReversed(env, eventId, "reversed_from"),
    env.DB.prepare(
      `UPDATE purchases SET disputed_amount = 0
       FROM (SELECT * FROM stripe_events WHERE id = ? AND status = 'pending' AND reversed_to IS NULL) AS e
       WHERE purchases.id = e.purchase_id`,
    ).bind(eventId),
    noteReversed(env, eventId, "reversed_to"),
  ];
}

/** What moves a `deferred` event on: its purchase being paid, or (a won dispute) its chargeback being done. */
function claimWaiting(env: Env, e: { id: string; type: string }): D1PreparedStatement[] {
  return e.type === "charge.dispute.closed" ? claimRestore(env, e.id) : claimReversal(env, e.id);
}

/** The purchase's reversed amount, noted on a claimed event before (`reversed_from`) and after (`reversed_to`) its claim. */
function noteReversed(env: Env, eventId: string, column: "reversed_from" | "reversed_to") {
  return env.DB.prepare(
    `UPDATE stripe_events SET ${column} = (
       SELECT min(p.amount, p.refunded_amount + p.disputed_amount) FROM purchases p
       WHERE p.id = stripe_events.purchase_id)
     WHERE id = ? AND status = 'pending' AND reversed_to IS NULL`,
  ).bind(eventId);
}

/**
 * SQL: `c` is the `charge.dispute.created` of the dispute `e` closes. Rows
 * recorded before dispute ids were kept match by payment intent alone (a
 * charge is disputed once).
 */
function sameDispute(c: string, e: string): string {
  return `${c}.type = 'charge.dispute.created' AND ${c}.payment_intent_id = ${e}.payment_intent_id
    AND (${c}.dispute_id = ${e}.dispute_id OR ${c}.dispute_id IS NULL)`;
}

// ── step 2: the wallet ───────────────────────────────────────────────────

async function drive(env: Env, row: EventRow): Promise<void> {
  const d = db(env.DB);
  const purchase = row.purchaseId
    ? await d.query.purchases.findFirst({ where: eq(purchases.id, row.purchaseId) })
    : undefined;
  let debited: number | null = null;
  let note: string | null = row.note;
  if (!purchase) {
    // An allowance refused because the subscription had ended, or a session whose purchase vanished.
    note = "no purchase to grant";
  } else if (row.type === "charge.dispute.closed") {
    ({ debited, note } = await restore(env, row, purchase));
  } else if (row.type === "charge.refunded" || row.type === "charge.dispute.created") {
    debited = await clawBack(env, row, purchase);
  } else {
    await ensureGranted(env, purchase);
    if (purchase.paymentIntentId) await settleDeferred(env, purchase.paymentIntentId);
  }
  await d
    .update(stripeEvents)
    .set({ status: purchase ? "done" : "ignored", debited, note, processedAt: new Date() })
    .where(and(eq(stripeEvents.id, row.id), eq(stripeEvents.status, "pending")));
  // A won dispute waits for its chargeback and the purchase's other clawbacks to be done.
  if (purchase?.paymentIntentId && REVERSALS.includes(row.type)) {
    await settleDeferred(env, purchase.paymentIntentId);
  }
}

/** Refunds and disputes that arrived before their purchase was paid, and won disputes waiting for their chargeback. */
async function settleDeferred(env: Env, paymentIntentId: string): Promise<void> {
  const d = db(env.DB);
  const waiting = await d
    .select({ id: stripeEvents.id, type: stripeEvents.type })
    .from(stripeEvents)
    .where(and(eq(stripeEvents.paymentIntentId, paymentIntentId), eq(stripeEvents.status, "deferred")));
  for (const e of waiting) {
    await env.DB.batch(claimWaiting(env, e));
    const row = await findEvent(env, e.id);
    if (row?.status === "pending") await drive(env, row);
  }
}

/**
 * Takes back this event's share of the purchase's tokens, only from what is
 * left of its grant: the pro-rata tokens of the money range this event claimed.
 */
async function clawBack(env: Env, row: EventRow, purchase: PurchaseRow): Promise<number> {
  const from = row.reversedFrom ?? 0;
  const to = row.reversedTo ?? from;
  const dispute = row.type === "charge.dispute.created";
  return takeBack(env, row, purchase, { from, to }, dispute ? "chargeback" : "refund");
}

/**
 * Takes the pro-rata tokens of the money range `from`–`to` out of what is
 * left of the purchase: its grant and any grant that gave back a won
 * dispute's chargeback. Keyed by the event id.
 */
async function takeBack(
  env: Env,
  row: EventRow,
  purchase: PurchaseRow,
  range: { from: number; to: number },
  type: "chargeback" | "refund",
): Promise<number> {
  const want =
    proRata(purchase.tokens, range.to, purchase.amount) -
    proRata(purchase.tokens, Math.max(0, range.from), purchase.amount);
  if (want <= 0) return 0;
  const grantIds = [await ensureGranted(env, purchase), ...(await restoredGrants(env, purchase))];
  const result = await wallet(env, purchase.accountId).debit({
    key: `stripe:${row.id}`,
    amount: want,
    type,
    description:
      type === "chargeback"
        ? "Payment disputed: unspent tokens removed"
        : "Payment refunded: unspent tokens removed",
    reference: purchase.id,
    partial: true,
    grantIds,
  });
  if (!result.ok) throw new Error(`clawback failed: ${result.code}: ${result.message}`);
  return result.debited;
}

/**
 * A won dispute: gives back exactly what its chargeback took (`ensureRestored`),
 * then takes the share of money that stays reversed although the dispute no
 * longer holds it. That is a refund claimed while the dispute still counted:
 * its range was the dispute's, so it took nothing for it (0 in every other case).
 */
async function restore(
  env: Env,
  row: EventRow,
  purchase: PurchaseRow,
): Promise<{ debited: number; note: string }> {
  const chargeback = await chargebackOf(env, row);
  if (chargeback?.status !== "done") throw new Error(`won dispute ${row.id} before its chargeback`);
  await restoredGrants(env, purchase); // this dispute's grant among them
  const held = (chargeback.reversedTo ?? 0) - (chargeback.reversedFrom ?? 0);
  const from = (row.reversedFrom ?? 0) - held;
  const debited = await takeBack(env, row, purchase, { from, to: row.reversedTo ?? 0 }, "refund");
  return { debited, note: `dispute won: ${chargeback.debited ?? 0} tokens restored` };
}

/**
 * The grants that gave back this purchase's won disputes, made if they were
 * not yet: what is left of them belongs to the purchase, so later clawbacks
 * take from them too. A won dispute is claimed only while no clawback of its
 * purchase is pending, so a pending clawback names the same grants on every
 * retry (the wallet refuses a key replayed with other arguments).
 */
async function restoredGrants(env: Env, purchase: PurchaseRow): Promise<string[]> {
  if (!purchase.paymentIntentId) return [];
  const won = await db(env.DB)
    .select()
    .from(stripeEvents)
    .where(
      and(
        eq(stripeEvents.paymentIntentId, purchase.paymentIntentId),
        eq(stripeEvents.purchaseId, purchase.id),
        eq(stripeEvents.type, "charge.dispute.closed"),
        inArray(stripeEvents.status, ["pending", "done"]),
      ),
    )
    .orderBy(stripeEvents.createdAt, stripeEvents.id);
  const ids: string[] = [];
  for (const row of won) {
    const grantId = await ensureRestored(env, row, purchase);
    if (grantId) ids.push(grantId);
  }
  return ids;
}

/**
 * Gives back the tokens a won dispute's chargeback took, once: the grant is
 * keyed by the dispute id, so duplicate, concurrent and retried deliveries
 * (and a second `closed` event for the dispute) restore once. The amount is
 * the chargeback's `debited` (final once it is done), not the disputed share:
 * tokens spent before the dispute were never taken, so none come back. They
 * return like the purchase's own tokens (same source and expiry) in a positive
 * `chargeback` entry that undoes the negative one; API.md fixes the types.
 */
async function ensureRestored(env: Env, row: EventRow, purchase: PurchaseRow): Promise<string | null> {
  if (row.grantId) return row.grantId;
  const chargeback = await chargebackOf(env, row);
  const amount = chargeback?.status === "done" ? (chargeback.debited ?? 0) : 0;
  if (amount <= 0) return null;
  const result = await wallet(env, purchase.accountId).grant({
    key: `dispute-won:${row.disputeId}`,
    source: purchase.kind === "pack" ? "purchase" : "allowance",
    type: "chargeback",
    amount,
    expiresAt: purchase.kind === "allowance" ? (purchase.periodEnd?.getTime() ?? null) : null,
    description: "Dispute won: removed tokens restored",
    reference: purchase.id,
  });
  if (!result.ok) throw new Error(`dispute restore failed: ${result.code}: ${result.message}`);
  await db(env.DB)
    .update(stripeEvents)
    .set({ grantId: result.grantId })
    .where(and(eq(stripeEvents.id, row.id), isNull(stripeEvents.grantId)));
  return result.grantId;
}

/** The chargeback of the dispute a won event closes, found as `claimRestore` finds it. */
function chargebackOf(env: Env, row: EventRow): Promise<EventRow | undefined> {
  return db(env.DB).query.stripeEvents.findFirst({
    where: and(
      eq(stripeEvents.type, "charge.dispute.created"),
      eq(stripeEvents.paymentIntentId, row.paymentIntentId ?? ""),
      or(eq(stripeEvents.disputeId, row.disputeId ?? ""), isNull(stripeEvents.disputeId)),
    ),
    orderBy: [stripeEvents.createdAt, stripeEvents.id],
  });
}

/**
 * The purchase's wallet grant, made if it was not yet. Keyed by the purchase
 * id with arguments taken only from the row, so every caller gets one grant.
 */
async function ensureGranted(env: Env, p: PurchaseRow): Promise<string> {
  if (p.grantId) return p.grantId;
  const carried = p.kind === "allowance" ? await decideCarryOver(env, p) : 0;
  const result = await wallet(env, p.accountId).grant({
    key: `purchase:${p.id}`,
    source: p.kind === "pack" ? "purchase" : "allowance",
    type: p.kind === "pack" ? "purchase" : "allowance",
    amount: p.tokens + carried,
    expiresAt: p.kind === "allowance" ? (p.periodEnd?.getTime() ?? null) : null,
    description:
      p.kind === "pack"
        ? `Bought ${p.tokens} tokens`
        : `Monthly allowance: ${p.tokens} tokens${carried > 0 ? ` + ${carried} carried over` : ""}`,
    reference: p.id,
  });
  if (!result.ok) throw new Error(`purchase grant failed: ${result.code}: ${result.message}`);
  await db(env.DB)
    .update(purchases)
    .set({ grantId: result.grantId })
    .where(and(eq(purchases.id, p.id), sql`${purchases.grantId} IS NULL`));
  return result.grantId;
}

/**
 * How many unused tokens of the previous allowance move into this one, up to
 * the plan's rollover cap. Unused tokens still live are taken out of the old
 * grant (so they are not counted twice); ones that already expired at the
 * period end are carried from the expiry entry. Decided once and stored, so a
 * retried grant has the same amount.
 */
async function decideCarryOver(env: Env, p: PurchaseRow): Promise<number> {
  if (p.carriedOver !== null) return p.carriedOver;
  const d = db(env.DB);
  let carried = 0;
  const previous =
    p.rolloverFromId && p.rolloverCap > 0
      ? await d.query.purchases.findFirst({ where: eq(purchases.id, p.rolloverFromId) })
      : undefined;
  if (previous) {
    const oldGrant = await ensureGranted(env, previous);
    const taken = await wallet(env, p.accountId).debit({
      key: `rollover:${p.id}`,
      amount: p.rolloverCap,
      type: "allowance",
      description: "Unused allowance carried over to the next period",
      reference: p.id,
      partial: true,
      grantIds: [oldGrant],
    });
    if (!taken.ok) throw new Error(`rollover failed: ${taken.code}: ${taken.message}`);
    carried = taken.debited;
    if (carried < p.rolloverCap) {
      const expired = await env.DB.prepare(
        `SELECT coalesce(-sum(amount), 0) AS n FROM ledger_entries
         WHERE wallet_id = ? AND grant_id = ? AND type = 'expiry'`,
      )
        .bind(p.accountId, oldGrant)
        .first<{ n: number }>();
      carried = Math.min(p.rolloverCap, carried + (expired?.n ?? 0));
    }
  }
  await d
    .update(purchases)
    .set({ carriedOver: carried })
    .where(and(eq(purchases.id, p.id), sql`${purchases.carriedOver} IS NULL`));
  const stored = await d.query.purchases.findFirst({ where: eq(purchases.id, p.id) });
  return stored?.carriedOver ?? carried;
}

// ── helpers ──────────────────────────────────────────────────────────────

function findEvent(env: Env, id: string): Promise<EventRow | undefined> {
  return db(env.DB).query.stripeEvents.findFirst({ where: eq(stripeEvents.id, id) });
}

async function accountByCustomer(env: Env, customerId: string | null): Promise<string | undefined> {
  if (!customerId) return undefined;
  const row = await db(env.DB).query.accounts.findFirst({
    where: eq(accounts.stripeCustomerId, customerId),
    columns: { id: true },
  });
  return row?.id;
}

function asRecord(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw new UnreadableEvent("expected an object");
  return v as Record<string, unknown>;
}

function str(v: unknown, field: string): string {
  if (typeof v !== "string" || v === "") throw new UnreadableEvent(`${field} must be a string`);
  return v;
}

function optStr(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function int(v: unknown, field: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0)
    throw new UnreadableEvent(`${field} must be a whole number`);
  return v as number;
}

/** A Stripe reference: either the id or the expanded object. */
function idOf(v: unknown): string | null {
  if (typeof v === "string" && v !== "") return v;
  if (v && typeof v === "object" && typeof (v as { id?: unknown }).id === "string")
    return (v as { id: string }).id;
  return null;
}
