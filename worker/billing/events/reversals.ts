/**
 * Refunds and disputes (docs/decisions/003-payments.md): what each claims of
 * its purchase's money in D1, and the tokens it takes back or gives back.
 */
import { and, eq, inArray, isNull, lte, ne, or, sql } from "drizzle-orm";
import { db } from "../../db/client";
import { purchases, stripeEvents } from "../../db/schema";
import type { Env } from "../../env";
import { wallet } from "../../wallet/client";
import { proRata } from "../../wallet/ledger";
import { ensureGranted } from "./grants";
import { chargePayload, disputePayload, read } from "./payload";
import {
  type EventEffect,
  type EventRow,
  type PurchaseRow,
  REVERSALS,
  type StripeEventLike,
  walletOf,
} from "./types";

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
function sameDispute(c: string, e: string): string {
  return `${c}.type = 'charge.dispute.created' AND ${c}.payment_intent_id = ${e}.payment_intent_id
    AND (${c}.dispute_id = ${e}.dispute_id OR ${c}.dispute_id IS NULL)`;
}

/**
 * Takes back this event's share of the purchase's tokens: the pro-rata
 * tokens of the money range this event claimed, from what is left of the
 * purchase's own grants. A chargeback takes any shortfall from the wallet's
 * other paid tokens (decision 008: a chargeback leaves no tokens that were
 * not paid for). What generations hold now cannot be taken yet: up to that
 * much stays `owed`, and `collectOwed` takes it once they release it.
 */
export async function clawBack(
  env: Env,
  row: EventRow,
  purchase: PurchaseRow,
): Promise<{ debited: number; owed: number }> {
  const from = row.reversedFrom ?? 0;
  const to = row.reversedTo ?? from;
  const want = share(purchase, { from, to });
  if (want <= 0) return { debited: 0, owed: 0 };
  const type = row.type === "charge.dispute.created" ? "chargeback" : "refund";
  const first = await debitFrom(
    env,
    purchase,
    `stripe:${row.id}`,
    want,
    type,
    await ownGrants(env, purchase),
  );
  let { debited } = first;
  let held = first.held;
  if (type === "chargeback" && debited < want) {
    const others = await otherPaidGrants(env, row, purchase);
    if (others.length > 0) {
      const more = await debitFrom(env, purchase, `stripe:${row.id}:shortfall`, want - debited, type, others);
      debited += more.debited;
      held = more.held;
    }
  }
  return { debited, owed: Math.min(want - debited, held) };
}

/**
 * Takes what a clawback still owes from the grants it may take from, now
 * that generations may have released what they held. One attempt per call,
 * keyed by its number (stored with its result), so a retry replays it. Once
 * nothing is held any more, whatever is still owed was spent: it is dropped.
 */
export async function collectOwed(env: Env, row: EventRow, purchase: PurchaseRow): Promise<void> {
  if (row.owed <= 0) return;
  const type = row.type === "charge.dispute.created" ? "chargeback" : "refund";
  const grantIds = [
    ...(await ownGrants(env, purchase)),
    ...(type === "chargeback" ? await otherPaidGrants(env, row, purchase) : []),
  ];
  const attempt = row.owedAttempts;
  const taken = await debitFrom(env, purchase, `stripe:${row.id}:owed:${attempt}`, row.owed, type, grantIds);
  const left = taken.held > 0 ? row.owed - taken.debited : 0;
  await env.DB.prepare(
    `UPDATE stripe_events SET owed = ?, owed_attempts = ?, debited = coalesce(debited, 0) + ?
     WHERE id = ? AND owed_attempts = ?`,
  )
    .bind(left, attempt + 1, taken.debited, row.id, attempt)
    .run();
}

/** The pro-rata tokens of the money range `from`–`to` of a purchase. */
function share(purchase: PurchaseRow, range: { from: number; to: number }): number {
  return (
    proRata(purchase.tokens, range.to, purchase.amount) -
    proRata(purchase.tokens, Math.max(0, range.from), purchase.amount)
  );
}

/** Takes the pro-rata tokens of a money range out of what is left of the purchase. Keyed by the event id. */
async function takeBack(
  env: Env,
  row: EventRow,
  purchase: PurchaseRow,
  range: { from: number; to: number },
  type: "chargeback" | "refund",
): Promise<number> {
  const want = share(purchase, range);
  if (want <= 0) return 0;
  return (await debitFrom(env, purchase, `stripe:${row.id}`, want, type, await ownGrants(env, purchase)))
    .debited;
}

/** The purchase's grant and any grant that gave back a won dispute's chargeback. */
async function ownGrants(env: Env, purchase: PurchaseRow): Promise<string[]> {
  return [await ensureGranted(env, purchase), ...(await restoredGrants(env, purchase))];
}

/**
 * The grants of the wallet's other purchases made before this event: paid
 * tokens a chargeback's shortfall may be taken from. Only purchases older
 * than the event, each granted if it was not yet, so a retry names the same
 * grants (the wallet refuses a key replayed with other arguments).
 */
async function otherPaidGrants(env: Env, row: EventRow, purchase: PurchaseRow): Promise<string[]> {
  const others = await db(env.DB)
    .select()
    .from(purchases)
    .where(
      and(
        eq(sql`coalesce(${purchases.walletId}, ${purchases.accountId})`, walletOf(purchase)),
        ne(purchases.id, purchase.id),
        lte(purchases.createdAt, row.createdAt),
      ),
    )
    .orderBy(purchases.createdAt, purchases.id);
  const ids: string[] = [];
  for (const p of others) ids.push(await ensureGranted(env, p));
  return ids;
}

const DESCRIPTIONS = {
  chargeback: "Payment disputed: unspent tokens removed",
  refund: "Payment refunded: unspent tokens removed",
};

async function debitFrom(
  env: Env,
  purchase: PurchaseRow,
  key: string,
  amount: number,
  type: "chargeback" | "refund",
  grantIds: string[],
): Promise<{ debited: number; held: number }> {
  const result = await wallet(env, walletOf(purchase)).debit({
    key,
    amount,
    type,
    description: DESCRIPTIONS[type],
    reference: purchase.id,
    partial: true,
    grantIds,
  });
  if (!result.ok) throw new Error(`clawback failed: ${result.code}: ${result.message}`);
  return { debited: result.debited, held: result.tokens.held };
}

/**
 * A won dispute: gives back exactly what its chargeback took (`ensureRestored`),
 * then takes the share of money that stays reversed although the dispute no
 * longer holds it. That is a refund claimed while the dispute still counted:
 * its range was the dispute's, so it took nothing for it (0 in every other case).
 */
export async function restore(
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
  const result = await wallet(env, walletOf(purchase)).grant({
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
