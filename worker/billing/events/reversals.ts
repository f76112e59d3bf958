/**
 * Refunds and disputes, the wallet side (docs/decisions/003-payments.md, 008):
 * the tokens each takes back or gives back; ./claims.ts holds the D1 side.
 */
import { and, eq, inArray, isNull, lte, ne, or, sql } from "drizzle-orm";
import { db } from "../../db/client";
import { purchases, stripeEvents } from "../../db/schema";
import type { Env } from "../../env";
import { wallet } from "../../wallet/client";
import { proRata } from "../../wallet/ledger";
import { ensureGranted } from "./grants";
import { type EventRow, type PurchaseRow, walletOf } from "./types";

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
 * `chargeback` entry that undoes the negative one; docs/api.md fixes the types.
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
