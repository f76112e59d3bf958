/** The wallet grants of purchases: a pack's tokens, a period's allowance and what it carries over. */
import { and, eq, sql } from "drizzle-orm";
import { db } from "../../db/client";
import { purchases } from "../../db/schema";
import type { Env } from "../../env";
import { wallet } from "../../wallet/client";
import { type PurchaseRow, walletOf } from "./types";

/**
 * The purchase's wallet grant, made if it was not yet. Keyed by the purchase
 * id with arguments taken only from the row, so every caller gets one grant.
 */
export async function ensureGranted(env: Env, p: PurchaseRow): Promise<string> {
  if (p.grantId) return p.grantId;
  const carried = p.kind === "allowance" ? await decideCarryOver(env, p) : 0;
  const result = await wallet(env, walletOf(p)).grant({
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
    const taken = await wallet(env, walletOf(p)).debit({
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
        .bind(walletOf(p), oldGrant)
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
