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
 * not paid for). What generations hold now cannot be taken yet: the last
 * debit leaves up to that much as a debt in the wallet, which the holds pay
 * in the same transaction that releases them; `owed` records it until
 * `collectOwed` sees the debt closed.
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
  const type = typeOf(row);
  const own = await ownGrants(env, purchase);
  const first = await debitFrom(env, purchase, `stripe:${row.id}`, want, type, own, false);
  if (first.debited >= want) return first;
  // The rest (a chargeback's from every paid grant) in a second debit that
  // owes what their holds keep: one debt, so what it takes and owes never
  // adds up to more than the share.
  const rest = type === "chargeback" ? [...own, ...(await otherPaidGrants(env, row, purchase))] : own;
  const more = await debitFrom(
    env,
    purchase,
    `stripe:${row.id}:shortfall`,
    want - first.debited,
    type,
    rest,
    true,
  );
  return { debited: first.debited + more.debited, owed: more.owed };
}

/** The wallet key a clawback's debt is under: its owing debit's (see `clawBack`). */
function debtKeys(row: EventRow): string[] {
  return [`stripe:${row.id}:shortfall`];
}

/**
 * Settles in D1 what a clawback still owes. The wallet pays its debts itself
 * as holds release them; this only notes, once the wallet's debts of this
 * event are closed, what they took, and `owed` goes to 0 (a won dispute
 * waits for that). It takes nothing then, so it cannot take the same tokens
 * as the wallet. Events recorded before the wallet kept debts have none
 * there: for them only (the fallback) each call makes one collection
 * attempt, keyed by its number (stored with its result) so a retry replays
 * it; once nothing is held any more, whatever is still owed was spent and is
 * dropped.
 */
export async function collectOwed(env: Env, row: EventRow, purchase: PurchaseRow): Promise<void> {
  if (row.owed <= 0) return;
  const debts = await wallet(env, walletOf(purchase)).debts(debtKeys(row));
  if (debts.length > 0) {
    if (debts.some((d) => d.open)) return;
    const paid = debts.reduce((n, d) => n + d.paid, 0);
    await env.DB.prepare(
      "UPDATE stripe_events SET owed = 0, debited = coalesce(debited, 0) + ? WHERE id = ? AND owed > 0",
    )
      .bind(paid, row.id)
      .run();
    return;
  }
  const type = typeOf(row);
  const grantIds = [
    ...(await ownGrants(env, purchase)),
    ...(type === "chargeback" ? await otherPaidGrants(env, row, purchase) : []),
  ];
  const attempt = row.owedAttempts;
  const key = `stripe:${row.id}:owed:${attempt}`;
  const taken = await debitFrom(env, purchase, key, row.owed, type, grantIds, false);
  const left = taken.held > 0 ? row.owed - taken.debited : 0;
  await env.DB.prepare(
    `UPDATE stripe_events SET owed = ?, owed_attempts = ?, debited = coalesce(debited, 0) + ?
     WHERE id = ? AND owed_attempts = ?`,
  )
    .bind(left, attempt + 1, taken.debited, row.id, attempt)
    .run();
}

function typeOf(row: EventRow): "chargeback" | "refund" {
  return row.type === "charge.dispute.created" ? "chargeback" : "refund";
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
  return (
    await debitFrom(env, purchase, `stripe:${row.id}`, want, type, await ownGrants(env, purchase), false)
  ).debited;
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
  owe: boolean,
): Promise<{ debited: number; owed: number; held: number }> {
  const result = await wallet(env, walletOf(purchase)).debit({
    key,
    amount,
    type,
    description: DESCRIPTIONS[type],
    reference: purchase.id,
    partial: true,
    grantIds,
    ...(owe ? { owe } : {}),
  });
  if (!result.ok) throw new Error(`clawback failed: ${result.code}: ${result.message}`);
  return { debited: result.debited, owed: result.owed ?? 0, held: result.tokens.held };
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
export function chargebackOf(env: Env, row: EventRow): Promise<EventRow | undefined> {
  return db(env.DB).query.stripeEvents.findFirst({
    where: and(
      eq(stripeEvents.type, "charge.dispute.created"),
      eq(stripeEvents.paymentIntentId, row.paymentIntentId ?? ""),
      or(eq(stripeEvents.disputeId, row.disputeId ?? ""), isNull(stripeEvents.disputeId)),
    ),
    orderBy: [stripeEvents.createdAt, stripeEvents.id],
  });
}
