import { browser } from "wxt/browser";

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
