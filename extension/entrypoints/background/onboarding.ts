import { browser } from "wxt/browser";
import { consentItem } from "@/lib/storage";

export const ONBOARDING_PAGE = "/onboarding.html";

/** Opens the welcome page, or focuses it when it is already open (a second install event, a click on "Welcome"). */
export async function openOnboarding(): Promise<void> {
  const url = browser.runtime.getURL(ONBOARDING_PAGE);
  const [open] = await browser.tabs.query({ url }).catch(() => []);
  if (open?.id !== undefined) {
    await browser.tabs.update(open.id, { active: true });
    return;
  }
  await browser.tabs.create({ url });
}

/**
 * End-to-end Firefox builds only (`MYBA_TEST_CONSENT=accepted`, set by
 * scripts/e2e.mjs): WebDriver BiDi cannot open Firefox's extension pages to
 * press "accept", so the build records it at install. Empty in every other build.
 */
const TEST_CONSENT = (import.meta.env as Record<string, string | undefined>).MYBA_TEST_CONSENT;

/**
 * On install: the welcome page. End-to-end Firefox builds record its
 * "accept" instead of opening it: a tab opened at install would push the
 * test's own page to the background, where Firefox throttles it.
 */
export async function welcome(): Promise<void> {
  if (TEST_CONSENT === "accepted") {
    if (!(await consentItem.getValue()))
      await consentItem.setValue({ choice: "accepted", at: new Date().toISOString() });
    return;
  }
  await openOnboarding();
}
