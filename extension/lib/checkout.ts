import { checkoutArrivedItem, type PendingCheckout, pendingCheckoutItem } from "./storage";

/**
 * The purchase in flight is over when the balance it watches moved past
 * `before`: the pending notice ends and "+N tokens" is recorded for the
 * popup. Whoever sees the new balance first (the background's watch or an
 * open popup) calls this; the second call finds nothing pending.
 */
export async function settleCheckout(me: Watched): Promise<boolean> {
  const pending = await pendingCheckoutItem.getValue();
  if (!pending) return false;
  const now = watchedBalance(pending, me);
  if (now === undefined || now <= pending.before) return false;
  await pendingCheckoutItem.setValue(null);
  await checkoutArrivedItem.setValue({
    planId: pending.planId,
    added: now - pending.before,
    at: new Date().toISOString(),
  });
  return true;
}

/** What settling reads of GET /api/me (or of a view's account state). */
interface Watched {
  tokens: { available: number };
  teams?: { id: string; tokens: { available: number } }[];
}

/** The balance a pending purchase watches: the account's, or its team's. */
function watchedBalance(pending: PendingCheckout, me: Watched): number | undefined {
  return pending.teamId
    ? me.teams?.find((t) => t.id === pending.teamId)?.tokens.available
    : me.tokens.available;
}
