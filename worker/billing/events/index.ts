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
import { and, eq, gt } from "drizzle-orm";
import { db } from "../../db/client";
import { purchases, stripeEvents } from "../../db/schema";
import type { Env } from "../../env";
import { randomToken } from "../../lib/ids";
import { log } from "../../lib/log";
import { claimWaiting, reversalEffect } from "./claims";
import { checkoutEffect, pushPlan } from "./effects";
import { ensureGranted } from "./grants";
import { UnreadableEvent } from "./payload";
import { chargebackOf, clawBack, collectOwed, restore } from "./reversals";
import { invoiceEffect, invoicePaymentEffect, subscriptionStatusEffect } from "./subscriptions";
import {
  type ApplyResult,
  type EventEffect,
  type EventRow,
  findEvent,
  type Owned,
  REVERSALS,
  type StripeEventLike,
} from "./types";

export type { ApplyResult, EventOutcome, StripeEventLike } from "./types";
export { UnreadableEvent };

export async function applyEvent(env: Env, event: StripeEventLike): Promise<ApplyResult> {
  const existing = await findEvent(env, event.id);
  if (existing) return { ...(await resume(env, existing)), duplicate: true };

  const effect = await effectOf(env, event);
  const claim = randomToken(12);
  const owned: Owned = {
    sql: "EXISTS (SELECT 1 FROM stripe_events WHERE id = ? AND claim = ?)",
    binds: [event.id, claim],
  };
  const now = Date.now();
  const statements = [
    env.DB.prepare(
      `INSERT INTO stripe_events (id, type, status, claim, payment_intent_id, reversal_amount, dispute_id,
         invoice_id, note, created_at, processed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ).bind(
      event.id,
      event.type,
      effect.status,
      claim,
      effect.paymentIntentId ?? null,
      effect.reversalAmount ?? null,
      effect.disputeId ?? null,
      effect.invoiceId ?? null,
      effect.note ?? null,
      now,
      effect.status === "done" || effect.status === "ignored" ? now : null,
    ),
    ...(effect.statements?.(owned) ?? []),
  ];
  // A refund or dispute is claimed against its purchase in the same batch when
  // the purchase is already paid (a won dispute, when its chargeback is done);
  // otherwise it waits as `deferred`.
  if (effect.status === "deferred") statements.push(...claimWaiting(env, event));
  await env.DB.batch(statements);
  if (effect.planOf) await pushPlan(env, effect.planOf);

  const row = await findEvent(env, event.id);
  if (!row) throw new Error(`stripe event ${event.id} was not recorded`);
  if (effect.status === "ignored")
    log("info", "stripe.event_ignored", { eventId: event.id, note: effect.note });
  return { ...(await resume(env, row)), duplicate: row.claim !== claim };
}

/** Drives a recorded event's remaining wallet step, if it has one. */
async function resume(env: Env, row: EventRow): Promise<Omit<ApplyResult, "duplicate">> {
  if (row.status === "pending") {
    await drive(env, row);
    const after = await findEvent(env, row.id);
    return { eventId: row.id, status: after?.status ?? "pending", note: after?.note ?? undefined };
  }
  if (row.status === "done" && row.owed > 0) await collect(env, row);
  if (row.status === "deferred") {
    // A won dispute waits for its chargeback to owe nothing: the wallet may
    // have been paid its debt since (collecting it drives this event on).
    if (row.type === "charge.dispute.closed") {
      const chargeback = await chargebackOf(env, row);
      if (chargeback?.status === "done" && chargeback.owed > 0) await collect(env, chargeback);
      const now = await findEvent(env, row.id);
      if (now && now.status !== "deferred")
        return { eventId: row.id, status: now.status, note: now.note ?? undefined };
    }
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
  // Clawbacks that could not take what generations held: taken once released.
  const owing = await db(env.DB)
    .select()
    .from(stripeEvents)
    .where(and(eq(stripeEvents.status, "done"), gt(stripeEvents.owed, 0)))
    .orderBy(stripeEvents.createdAt)
    .limit(limit);
  for (const row of owing) {
    try {
      await collect(env, row);
      driven++;
    } catch (error) {
      failed++;
      log("warn", "stripe.collect_failed", { eventId: row.id, error: String(error) });
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

async function effectOf(env: Env, event: StripeEventLike): Promise<EventEffect> {
  if (typeof event.data !== "object" || event.data === null) throw new UnreadableEvent("data: missing");
  switch (event.type) {
    case "checkout.session.completed":
    case "checkout.session.async_payment_succeeded":
      return checkoutEffect(env, event);
    case "invoice.paid":
      return invoiceEffect(env, event);
    case "invoice_payment.paid":
      return invoicePaymentEffect(env, event);
    case "customer.subscription.updated":
    case "customer.subscription.deleted":
      return subscriptionStatusEffect(env, event);
    default:
      return reversalEffect(event);
  }
}

// ── step 2: the wallet ───────────────────────────────────────────────────

async function drive(env: Env, row: EventRow): Promise<void> {
  const d = db(env.DB);
  const purchase = row.purchaseId
    ? await d.query.purchases.findFirst({ where: eq(purchases.id, row.purchaseId) })
    : undefined;
  let debited: number | null = null;
  let owed = 0;
  let note: string | null = row.note;
  if (!purchase && row.type === "invoice_payment.paid") {
    // Its invoice comes later and reads the payment intent from this row.
    note = "invoice not recorded yet";
  } else if (!purchase) {
    // An allowance refused because the subscription had ended, or a session whose purchase vanished.
    note = "no purchase to grant";
  } else if (row.type === "charge.dispute.closed") {
    ({ debited, note } = await restore(env, row, purchase));
  } else if (row.type === "charge.refunded" || row.type === "charge.dispute.created") {
    ({ debited, owed } = await clawBack(env, row, purchase));
  } else {
    await ensureGranted(env, purchase);
    if (purchase.paymentIntentId) await settleDeferred(env, purchase.paymentIntentId);
  }
  await d
    .update(stripeEvents)
    .set({
      status: purchase || row.type === "invoice_payment.paid" ? "done" : "ignored",
      debited,
      owed,
      note,
      processedAt: new Date(),
    })
    .where(and(eq(stripeEvents.id, row.id), eq(stripeEvents.status, "pending")));
  // A won dispute waits for its chargeback and the purchase's other clawbacks to be done.
  if (purchase?.paymentIntentId && REVERSALS.includes(row.type)) {
    await settleDeferred(env, purchase.paymentIntentId);
  }
}

/** One attempt at what a clawback still owes; a won dispute waiting for it may go on after. */
async function collect(env: Env, row: EventRow): Promise<void> {
  if (!row.purchaseId) return;
  const purchase = await db(env.DB).query.purchases.findFirst({ where: eq(purchases.id, row.purchaseId) });
  if (!purchase) return;
  await collectOwed(env, row, purchase);
  if (purchase.paymentIntentId) await settleDeferred(env, purchase.paymentIntentId);
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
