import { browser } from "wxt/browser";
import type { Api } from "@/lib/api";
import { settleCheckout } from "@/lib/checkout";
import { onMessage } from "@/lib/messaging";
import type { SessionManager } from "@/lib/session";
import { accountItem, checkoutArrivedItem, pendingCheckoutItem } from "@/lib/storage";

export function registerCheckoutHandlers({
  session,
  getApi,
}: {
  session: SessionManager;
  getApi: () => Promise<Api>;
}): void {
  onMessage("checkout", async ({ data }) => {
    const api = await getApi();
    const { url } = await session.withToken((token) => api.checkout(token, data.planId, data.teamId));
    const cached = await accountItem.getValue();
    const before = data.teamId
      ? (cached?.teams?.find((t) => t.id === data.teamId)?.tokens.available ?? 0)
      : (cached?.tokens.available ?? 0);
    await checkoutArrivedItem.setValue(null);
    await pendingCheckoutItem.setValue({
      planId: data.planId,
      before,
      startedAt: new Date().toISOString(),
      ...(data.teamId ? { teamId: data.teamId } : {}),
    });
    await browser.tabs.create({ url });
    void watchCheckout(session);
    return { url };
  });
}

/**
 * After Checkout opens, polls /api/me until the purchase's grant lands (the
 * webhook, not the redirect, confirms it), so every view's balance updates.
 * The service worker may be stopped meanwhile: the popup's own polling
 * settles the purchase too.
 */
async function watchCheckout(session: SessionManager, intervalMs = 4000, maxMs = 15 * 60_000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const pending = await pendingCheckoutItem.getValue();
    if (!pending) return;
    const me = await session.refresh().catch(() => null);
    if (me && (await settleCheckout(me))) return;
  }
  await pendingCheckoutItem.setValue(null);
}
