/**
 * Refunds and disputes in D1 (docs/decisions/003-payments.md): the event
 * effect, and the claims that move a waiting event on, each one transaction
 * so concurrent events claim disjoint ranges of the purchase's money.
 */
import type { Env } from "../../env";
import { chargePayload, disputePayload, read } from "./payload";
import { type EventEffect, REVERSALS, type StripeEventLike } from "./types";

/** A refund or dispute event's effect: recorded `deferred`, then claimed against its purchase. */
export function reversalEffect(event: StripeEventLike): EventEffect {
  switch (event.type) {
    case "charge.refunded": {
      const charge = read(chargePayload, event.data.object);
      if (!charge.payment_intent) return { status: "ignored", note: "charge without a payment intent" };
      return {
        status: "deferred",
        paymentIntentId: charge.payment_intent,
        reversalAmount: charge.amount_refunded,
      };
    }
    case "charge.dispute.created": {
      const dispute = read(disputePayload, event.data.object);
      if (!dispute.payment_intent) return { status: "ignored", note: "dispute without a payment intent" };
      return {
        status: "deferred",
        paymentIntentId: dispute.payment_intent,
        reversalAmount: dispute.amount,
        disputeId: dispute.id,
      };
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
      const dispute = read(disputePayload, event.data.object);
      const status = dispute.status ?? "unknown";
      if (status !== "won" && status !== "warning_closed") {
        return { status: "ignored", note: `dispute ${status}: nothing to restore` };
      }
      if (!dispute.payment_intent) return { status: "ignored", note: "dispute without a payment intent" };
      return { status: "deferred", paymentIntentId: dispute.payment_intent, disputeId: dispute.id };
    }
    default:
      return { status: "ignored", note: "event type not handled" };
  }
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
  const chargeback = `(SELECT c.purchase_id, c.status, c.owed FROM stripe_events c, stripe_events e
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
         AND c.status = 'done' AND c.owed = 0 AND c.purchase_id IS NOT NULL
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
export function claimWaiting(env: Env, e: { id: string; type: string }): D1PreparedStatement[] {
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
export function sameDispute(c: string, e: string): string {
  return `${c}.type = 'charge.dispute.created' AND ${c}.payment_intent_id = ${e}.payment_intent_id
    AND (${c}.dispute_id = ${e}.dispute_id OR ${c}.dispute_id IS NULL)`;
}
