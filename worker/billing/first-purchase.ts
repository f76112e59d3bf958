/**
 * The first-purchase discount, once per account (decision 008). The price is
 * decided when a checkout is made, but paid later, maybe never, and several
 * checkouts can be open at once. So the discount is an offer the account
 * holds one at a time: a checkout claims it atomically (one D1 upsert) and
 * keeps it until its session can no longer be paid; every other checkout
 * opened meanwhile gets the full price. A discounted payment that lands when
 * the account already has one (a demo page left open past its offer, clock
 * skew with Stripe) buys the tokens its money buys at the full price.
 */
import type { Db } from "../db/client";
import type { accounts } from "../db/schema";
import { firstPurchasePrice, type PlanRow, type Price } from "./plans";

/** How long a discounted Checkout Session can be paid: Stripe's shortest `expires_at`. */
export const OFFER_SESSION_MS = 30 * 60_000;
/** The offer outlives its session by this much, for clock skew between us and Stripe. */
const OFFER_MARGIN_MS = 5 * 60_000;

export interface Offer {
  price: Price;
  discounted: boolean;
  /** The full price the discount was taken from. */
  listAmount: number;
  /** When the session must expire (epoch ms), for a discounted one. */
  sessionExpiresAt?: number;
  /** The claimed offer's own expiry: tells it from a later claim. */
  offerExpiresAt?: number;
}

/**
 * The price of `plan` for this checkout: the first-purchase price if the
 * account never paid and no other checkout holds the offer now; it then
 * holds it. Give it back with `releaseOffer` if the checkout is not made.
 */
export async function claimOffer(
  d: Db,
  account: Pick<typeof accounts.$inferSelect, "id" | "firstPaidAt">,
  plan: PlanRow,
  opts: { forTeam: boolean },
  now = Date.now(),
): Promise<Offer> {
  const price = { amount: plan.priceAmount, currency: plan.currency };
  const full: Offer = { price, discounted: false, listAmount: price.amount };
  if (plan.kind !== "pack" || account.firstPaidAt !== null || opts.forTeam) return full;
  const expiresAt = now + OFFER_SESSION_MS + OFFER_MARGIN_MS;
  const won = await d.$client
    .prepare(
      `INSERT INTO first_purchase_offers (account_id, checkout_id, expires_at)
       SELECT ?, NULL, ? WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE id = ? AND first_paid_at IS NOT NULL)
       ON CONFLICT (account_id) DO UPDATE SET checkout_id = NULL, expires_at = excluded.expires_at
         WHERE first_purchase_offers.expires_at <= ?
       RETURNING expires_at`,
    )
    .bind(account.id, expiresAt, account.id, now)
    .first<{ expires_at: number }>();
  if (won?.expires_at !== expiresAt) return full;
  return {
    price: firstPurchasePrice(price),
    discounted: true,
    listAmount: price.amount,
    sessionExpiresAt: now + OFFER_SESSION_MS,
    offerExpiresAt: expiresAt,
  };
}

/** Names the checkout holding the offer (for the record). */
export async function bindOffer(d: Db, accountId: string, offer: Offer, checkoutId: string): Promise<void> {
  if (!offer.discounted) return;
  await d.$client
    .prepare("UPDATE first_purchase_offers SET checkout_id = ? WHERE account_id = ? AND expires_at = ?")
    .bind(checkoutId, accountId, offer.offerExpiresAt ?? 0)
    .run();
}

/** Gives the offer back when its checkout could not be made. */
export async function releaseOffer(d: Db, accountId: string, offer: Offer): Promise<void> {
  if (!offer.discounted) return;
  await d.$client
    .prepare("DELETE FROM first_purchase_offers WHERE account_id = ? AND expires_at = ?")
    .bind(accountId, offer.offerExpiresAt ?? 0)
    .run();
}
