import { createServer } from "node:net";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {} from "../fixtures/sites/fixture";
import { type Browser, e2e, launch, launcher } from "./harness";

/**
 * A newcomer's first minutes in real Chromium (issue 16): the welcome page
 * on install, no device identifier before the choice, the Demo AI marker,
 * History inserting with the panel closed and keeping anonymous tickets
 * after sign-in, a stopped server told apart, and a self-managed GitLab
 * enabled from the options page. Screenshots of each state go to the e2e
 * output folder.
 */

let browser: Browser;

beforeAll(async () => {
  // A device of its own (another fingerprint): whatever other files did with theirs, this one is new.
  browser = await launch({ onboarding: "keep", timezoneId: "Pacific/Chatham" });
});
afterAll(() => browser?.close());

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(e2e.screenshotDir(), `${name}.png`), fullPage: true });

const inPanel = (page: Page, id: string) => page.locator(`myba-ticket-panel [data-testid=${id}]`);

async function stored<T>(key: string): Promise<T | undefined> {
  const worker = browser.context.serviceWorkers()[0];
  if (!worker) throw new Error("no service worker");
  return worker.evaluate(async (k) => (await chrome.storage.local.get(k))[k], key) as Promise<T | undefined>;
}

async function onboardingPage(): Promise<Page> {
  const url = `chrome-extension://${browser.extensionId}/onboarding.html`;
  await expect
    .poll(() => browser.context.pages().some((p) => p.url() === url), { timeout: 10_000 })
    .toBe(true);
  return browser.context.pages().find((p) => p.url() === url) as Page;
}

async function openPopup(hash = ""): Promise<Page> {
  const popup = await browser.context.newPage();
  await popup.setViewportSize({ width: 400, height: 640 });
  await popup.goto(`chrome-extension://${browser.extensionId}/popup.html${hash}`);
  return popup;
}

async function adjust(accountId: string, amount: number) {
  const response = await fetch(`${e2e.workerUrl()}/admin/accounts/${accountId}/adjust`, {
    method: "POST",
    headers: { Authorization: "Bearer e2e-admin-token", "Content-Type": "application/json" },
    body: JSON.stringify({ amount, reason: "e2e: a token to spend" }),
  });
  expect(response.status).toBe(200);
}

/** A loopback port nobody listens on: the Worker, stopped. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("the first minutes", () => {
  it("install opens the welcome page; nothing is fingerprinted until the user accepts", async () => {
    const welcome = await onboardingPage();
    await welcome.getByTestId("myba-consent").waitFor();
    expect(await welcome.getByTestId("myba-onboarding-steps").locator("li").count()).toBe(3);
    expect(await welcome.getByTestId("myba-onboarding-tokens").textContent()).toMatch(
      /3 tokens free.*6 tokens more/,
    );
    await shot(welcome, "onboarding-welcome");

    // The panel, opened before the choice, asks for it and starts nothing.
    const jira = await browser.context.newPage();
    await jira.goto("https://example.atlassian.net/jira/your-work");
    await jira.click("#createGlobalItem");
    await launcher(jira).click();
    await jira
      .locator("myba-ticket-panel")
      .getByText("Choose how to start")
      .first()
      .waitFor({ timeout: 15_000 });
    await shot(jira, "onboarding-panel-before-choice");
    expect(await stored("visitorId")).toBeFalsy();
    expect(await stored("session")).toBeFalsy();
    await jira.close();

    await welcome.bringToFront();
    await welcome.getByTestId("myba-consent-accept").click();
    // The free tokens (3 on a fresh Worker; 0 when this machine's fingerprint already had them).
    await expect
      .poll(() => welcome.getByTestId("myba-onboarding-ready").textContent())
      .toMatch(/You're ready: \d+ tokens? to try MyBA/);
    expect(await stored("visitorId")).toBeTruthy();
    expect((await stored<{ kind: string }>("session"))?.kind).toBe("anonymous");
    await shot(welcome, "onboarding-accepted");
    await welcome.close();
  });

  it("the popup marks the demo model and links the privacy page", async () => {
    const popup = await openPopup();
    await popup.getByTestId("myba-demo-ai").waitFor();
    await expect.poll(() => popup.getByTestId("myba-popup-balance").textContent()).toMatch(/^\d+tokens?$/);
    const privacy = await popup.getByTestId("myba-privacy-link").getAttribute("href");
    expect(privacy).toBe(`${e2e.workerUrl()}/privacy`);
    const page = await fetch(privacy ?? "");
    expect(await page.text()).toContain("OpenRouter");
    await shot(popup, "popup-demo-ai");
    await popup.close();
  });

  it("History inserts into the open form with the panel closed, and keeps anonymous tickets after sign-in", async () => {
    // One token to spend, whatever this machine's fingerprint was given before.
    await adjust((await stored<{ accountId: string }>("session"))?.accountId ?? "", 1);
    const jira = await browser.context.newPage();
    await jira.goto("https://example.atlassian.net/jira/your-work");
    await jira.click("#createGlobalItem");
    await launcher(jira).click();
    await inPanel(jira, "myba-input").fill("Export button ignores the date filter");
    await inPanel(jira, "myba-generate").click();
    await inPanel(jira, "myba-insert").waitFor({ timeout: 20_000 });
    const title = (await inPanel(jira, "myba-preview").locator(".myba-ticket-title").textContent()) ?? "";
    expect(title.length).toBeGreaterThan(5);
    // Closed without inserting: the form is still empty, the panel gone.
    await launcher(jira).click();
    await expect.poll(() => inPanel(jira, "myba-input").count()).toBe(0);
    expect(await jira.evaluate(() => globalThis.__fixture.state.summary)).toBeFalsy();

    // Sign in: the anonymous ticket follows the tokens into the account.
    const popup = await openPopup();
    await popup.getByTestId("myba-dev-email").fill("newcomer@example.com");
    await popup.getByTestId("myba-signin-dev").click();
    await expect.poll(() => popup.getByTestId("myba-popup-account").textContent()).toContain("newcomer@");
    await popup.getByTestId("myba-tab-history").click();
    const item = popup.getByTestId("myba-history-item").filter({ hasText: title });
    await item.waitFor();
    await item.getByTestId("myba-history-show").click();
    await item.getByTestId("myba-history-full").waitFor();
    await shot(popup, "popup-history-after-sign-in");

    // The site's tab is the active one when the user clicks the toolbar popup.
    await jira.bringToFront();
    await item.getByTestId("myba-history-insert").click();
    await expect
      .poll(() => jira.evaluate(() => globalThis.__fixture.state.summary), { timeout: 15_000 })
      .toBe(title);
    await shot(jira, "history-inserted-with-panel-closed");
    await popup.close();
    await jira.close();
  });

  it("a stopped Worker: the popup says the server is unreachable, within seconds", async () => {
    const popup = await openPopup("#settings");
    await popup.getByTestId("myba-api-url").fill(`http://127.0.0.1:${await deadPort()}`);
    await popup.getByTestId("myba-api-url-save").click();
    await popup.close();

    const started = Date.now();
    const again = await openPopup();
    await again.getByTestId("myba-popup-error").waitFor({ timeout: 10_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await again.getByTestId("myba-popup-error").textContent()).toContain(
      "MyBA's server is unreachable",
    );
    expect(await again.getByTestId("myba-popup-account").textContent()).toBe("Not connected");
    await shot(again, "popup-server-unreachable");

    await again.getByTestId("myba-tab-settings").click();
    await again.getByTestId("myba-api-url").fill("");
    await again.getByTestId("myba-api-url-save").click();
    await again.close();
  });

  it("the options page enables a self-managed GitLab, and the launcher appears after a reload", async () => {
    const gitlab = await browser.context.newPage();
    await gitlab.goto("https://gitlab.example.org/acme/webapp/-/issues/new");
    await gitlab.waitForTimeout(1500);
    expect(await launcher(gitlab).count()).toBe(0);

    const options = await browser.context.newPage();
    await options.goto(
      `chrome-extension://${browser.extensionId}/options.html#https%3A%2F%2Fgitlab.example.org`,
    );
    expect(await options.getByTestId("myba-gitlab-address").inputValue()).toBe("https://gitlab.example.org");
    await options.getByTestId("myba-gitlab-enable").click();
    await expect.poll(() => options.getByTestId("myba-options-message").textContent()).toContain("Reload");
    expect(await options.getByTestId("myba-gitlab-hosts").textContent()).toContain(
      "https://gitlab.example.org",
    );
    await shot(options, "options-gitlab-enabled");
    await options.close();

    await gitlab.reload();
    await launcher(gitlab).waitFor({ timeout: 15_000 });
    await shot(gitlab, "self-managed-gitlab-launcher");
    await gitlab.close();
  });
});
