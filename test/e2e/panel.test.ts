import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {} from "../fixtures/sites/fixture";
import { type Browser, e2e, launch, launcher, ownAnonymousAccount } from "./harness";

/**
 * The panel's own behaviour in real Chromium against the local Worker (mock
 * AI): the page cannot drive it, work survives closing and reloading, the
 * states a newcomer meets (demo model, no tokens, no server) say what they
 * are, and the panel leaves the form in view.
 */

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
  await ownAnonymousAccount(browser, "panel");
});
afterAll(() => browser?.close());

const $ = (page: Page, id: string) => page.locator(`myba-ticket-panel [data-testid=${id}]`);
const tokens = async (page: Page) =>
  Number((await $(page, "myba-balance").textContent())?.match(/\d+/)?.[0] ?? Number.NaN);
const screenshot = (page: Page, name: string) =>
  page.screenshot({ path: join(e2e.screenshotDir(), `${name}.png`) });
const summary = (page: Page) =>
  page.evaluate(
    () => (globalThis as { __fixture?: { state: Record<string, unknown> } }).__fixture?.state.summary,
  );

async function openJira(page: Page) {
  await page.goto("https://example.atlassian.net/jira/your-work");
  await page.click("#createGlobalItem");
  await launcher(page).waitFor();
}

async function openPanel(page: Page) {
  await launcher(page).click();
  await expect.poll(() => tokens(page), { timeout: 15_000 }).not.toBeNaN();
}

/** What a page's own script can do: it reaches the open shadow root and dispatches synthetic events. */
const pageScript = (page: Page, testId: string, action: "click" | "ctrl-enter" | "enter") =>
  page.evaluate(
    ([id, what]) => {
      const root = document.querySelector("myba-ticket-panel")?.shadowRoot;
      const el = root?.querySelector<HTMLElement>(`[data-testid=${id}]`);
      if (!el) return false;
      if (what === "click") el.click();
      else {
        const init = { key: "Enter", bubbles: true, composed: true, ctrlKey: what === "ctrl-enter" };
        el.dispatchEvent(new KeyboardEvent("keydown", init));
        el.dispatchEvent(new KeyboardEvent("keypress", init));
      }
      return true;
    },
    [testId, action] as const,
  );

async function workerState<T>(fn: () => Promise<T>): Promise<T> {
  const worker = browser.context.serviceWorkers()[0];
  if (!worker) throw new Error("no service worker");
  return worker.evaluate(fn);
}

async function adjust(amount: number) {
  const { accountId } = await workerState(
    async () => (await chrome.storage.local.get("session")).session as { accountId: string },
  );
  const response = await fetch(`${e2e.workerUrl()}/admin/accounts/${accountId}/adjust`, {
    method: "POST",
    headers: { Authorization: "Bearer e2e-admin-token", "Content-Type": "application/json" },
    body: JSON.stringify({ amount, reason: "e2e: panel states" }),
  });
  expect(response.status).toBe(200);
}

describe("the panel in Chromium", () => {
  it("the page's own script cannot open it, generate or insert; a person's clicks still work", async () => {
    const page = await browser.context.newPage();
    await openJira(page);
    expect(await pageScript(page, "myba-open", "click")).toBe(true);
    await pageScript(page, "myba-open", "enter");
    await page.waitForTimeout(1000);
    expect(await $(page, "myba-input").count()).toBe(0);

    await openPanel(page);
    expect(await tokens(page)).toBe(3);
    await $(page, "myba-input").fill("Checkout fails on Safari when a gift card is applied");
    await pageScript(page, "myba-generate", "click");
    await pageScript(page, "myba-input", "ctrl-enter");
    await page.waitForTimeout(1500);
    expect(await $(page, "myba-preview").count()).toBe(0);
    expect(await tokens(page)).toBe(3);

    await $(page, "myba-generate").click();
    await $(page, "myba-insert").waitFor({ timeout: 20_000 });
    expect(await tokens(page)).toBe(2);
    await pageScript(page, "myba-insert", "click");
    await page.waitForTimeout(500);
    expect(await summary(page)).toBe("");
    expect(await $(page, "myba-inserted").count()).toBe(0);

    // Compact: with a finished ticket on screen the form's Summary field stays in a 900 px window.
    const box = await page.locator("#summary-field").boundingBox();
    expect(box).not.toBeNull();
    expect((box?.y ?? 0) + (box?.height ?? 0)).toBeLessThanOrEqual(900);
    await screenshot(page, "panel-result-compact");

    await $(page, "myba-insert").click();
    await $(page, "myba-inserted").waitFor();
    expect(String(await summary(page)).length).toBeGreaterThan(5);
    // One line after Insert: the prompt and the preview are gone.
    expect(await $(page, "myba-input").count()).toBe(0);
    await screenshot(page, "panel-inserted-collapsed");
    await page.close();
  });

  it("keeps the prompt and the paid ticket across ✕, Escape and a reload of the tab, until Discard", async () => {
    const page = await browser.context.newPage();
    await openJira(page);
    await openPanel(page);
    // The local Worker runs the mock model: the panel says so.
    await expect.poll(() => $(page, "myba-demo").isVisible()).toBe(true);
    const prompt = "Export to CSV drops rows with commas in the name";
    await $(page, "myba-input").fill(prompt);
    await $(page, "myba-generate").click();
    await $(page, "myba-insert").waitFor({ timeout: 20_000 });
    const title = await $(page, "myba-preview").locator(".myba-ticket-title").textContent();
    const balance = await tokens(page);

    await $(page, "myba-close").click();
    await openPanel(page);
    expect(await $(page, "myba-input").inputValue()).toBe(prompt);
    await expect.poll(() => $(page, "myba-preview").locator(".myba-ticket-title").textContent()).toBe(title);

    await $(page, "myba-input").press("Escape");
    await openPanel(page);
    await expect.poll(() => $(page, "myba-input").inputValue()).toBe(prompt);

    // Navigation within the tab: the page reloads, the draft is still there.
    await page.waitForTimeout(400);
    await openJira(page);
    await openPanel(page);
    await expect.poll(() => $(page, "myba-input").inputValue()).toBe(prompt);
    await expect.poll(() => $(page, "myba-insert").isVisible()).toBe(true);
    expect(await tokens(page)).toBe(balance);
    await screenshot(page, "panel-draft-restored");

    await $(page, "myba-discard").click();
    await page.waitForTimeout(400);
    await $(page, "myba-close").click();
    await openPanel(page);
    expect(await $(page, "myba-input").inputValue()).toBe("");
    await page.close();
  });

  it("at 0 tokens the primary button signs in, and opens the popup on its sign-in view", async () => {
    const page = await browser.context.newPage();
    await openJira(page);
    await openPanel(page);
    const left = await tokens(page);
    await adjust(-left);
    // The balance changes elsewhere: the panel hears of it when it next loads the account.
    await $(page, "myba-close").click();
    await openPanel(page);
    await expect.poll(() => tokens(page)).toBe(0);
    const signIn = $(page, "myba-signin").first();
    expect(await signIn.getAttribute("data-variant")).toBe("primary");
    expect(await $(page, "myba-generate").getAttribute("data-variant")).toBeNull();
    await screenshot(page, "panel-zero-tokens");
    await signIn.click();
    await expect
      .poll(() => workerState(async () => (await chrome.storage.local.get("popupView")).popupView))
      .toBe("account");
    await page.close();
  });

  it("a stopped server reads as MyBA's server being unreachable, not as the user's connection", async () => {
    await workerState(async () => {
      // Nothing listens on port 9 (discard): every request is refused, as with a stopped Worker.
      await chrome.storage.local.set({ apiUrl: "http://127.0.0.1:9", account: null });
    });
    try {
      const page = await browser.context.newPage();
      await openJira(page);
      await launcher(page).click();
      const error = $(page, "myba-account-error");
      await error.waitFor({ timeout: 15_000 });
      expect(await error.textContent()).toContain("MyBA's server is unreachable");
      expect(await error.textContent()).not.toContain("Check your connection");
      await screenshot(page, "panel-server-unreachable");
      await page.close();
    } finally {
      await workerState(async () => chrome.storage.local.remove("apiUrl"));
    }
  });
});
