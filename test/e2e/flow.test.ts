import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {} from "../fixtures/sites/fixture";
import {
  type Browser,
  blocks,
  contentWorld,
  type DocNode,
  e2e,
  launch,
  launcher,
  ownAnonymousAccount,
} from "./harness";

/**
 * The whole product on each site, in order, as one user would live it: an
 * anonymous session with the free tokens, a generation streamed from the
 * local Worker (mock AI), Insert into the page's editors, Copy, sign-in
 * through dev login in the popup (the anonymous tokens move over), and the
 * buy path when the tokens run out.
 */

let browser: Browser;

beforeAll(async () => {
  browser = await launch();
  await ownAnonymousAccount(browser, "flow");
  for (const origin of ["https://example.atlassian.net", "https://gitlab.com", "https://linear.app"]) {
    await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  }
});
afterAll(() => browser?.close());

const panel = (page: Page) => ({
  balance: page.locator("myba-ticket-panel [data-testid=myba-balance]"),
  input: page.locator("myba-ticket-panel [data-testid=myba-input]"),
  issueType: page.locator("myba-ticket-panel [data-testid=myba-issue-type]"),
  generate: page.locator("myba-ticket-panel [data-testid=myba-generate]"),
  preview: page.locator("myba-ticket-panel [data-testid=myba-preview]"),
  insert: page.locator("myba-ticket-panel [data-testid=myba-insert]"),
  inserted: page.locator("myba-ticket-panel [data-testid=myba-inserted]"),
  copy: page.locator("myba-ticket-panel [data-testid=myba-copy]"),
  error: page.locator("myba-ticket-panel [data-testid=myba-error]"),
  buy: page.locator("myba-ticket-panel [data-testid=myba-buy]"),
});

const tokens = async (page: Page) =>
  Number((await panel(page).balance.textContent())?.match(/\d+/)?.[0] ?? Number.NaN);

const doc = (page: Page, view: string) =>
  page.evaluate((name) => globalThis.__fixture.views[name]?.state.doc.toJSON(), view) as Promise<DocNode>;
const state = <T>(page: Page, key: string) =>
  page.evaluate((k) => globalThis.__fixture.state[k], key) as Promise<T>;

/**
 * Records, in the content-script world, every message the background relays
 * to the panel over the generation port: proof that the ticket arrived as a
 * stream of deltas, however fast the mock model writes.
 */
async function recordStream(page: Page) {
  const world = await contentWorld(page, browser.extensionId);
  await world.evaluate(`(() => {
    const log = (globalThis.__streamLog = []);
    const connect = chrome.runtime.connect.bind(chrome.runtime);
    chrome.runtime.connect = (...args) => {
      const port = connect(...args);
      port.onMessage.addListener((message) => log.push(message.type));
      return port;
    };
    return true;
  })()`);
  return () => world.evaluate<string[]>("globalThis.__streamLog");
}

async function openPanel(page: Page) {
  await launcher(page).click();
  await expect.poll(() => tokens(page), { timeout: 15_000 }).not.toBeNaN();
}

/** Generates from a prompt and waits for the finished ticket; returns the relayed stream's message types. */
async function generate(page: Page, prompt: string, issueType = "bug") {
  const p = panel(page);
  await p.input.fill(prompt);
  await p.issueType.selectOption(issueType);
  const stream = await recordStream(page);
  await p.generate.click();
  await p.insert.waitFor({ timeout: 20_000 });
  return stream();
}

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: join(e2e.screenshotDir(), `${name}.png`) });
}

async function session() {
  const worker = browser.context.serviceWorkers()[0];
  if (!worker) throw new Error("no service worker");
  return worker.evaluate(async () => {
    const { session } = await chrome.storage.local.get("session");
    return session as { token: string; kind: string; accountId: string };
  });
}

async function adjust(accountId: string, amount: number) {
  const response = await fetch(`${e2e.workerUrl()}/admin/accounts/${accountId}/adjust`, {
    method: "POST",
    headers: { Authorization: "Bearer e2e-admin-token", "Content-Type": "application/json" },
    body: JSON.stringify({ amount, reason: "e2e: use up the balance" }),
  });
  expect(response.status).toBe(200);
}

describe("generate and insert, end to end", () => {
  it("Jira, anonymous: free tokens, a streamed ticket, Insert into the summary and the editor, Copy", async () => {
    const page = await browser.context.newPage();
    await page.goto("https://example.atlassian.net/jira/your-work");
    await page.click("#createGlobalItem");
    await openPanel(page);
    expect(await tokens(page)).toBe(3);
    await screenshot(page, "jira-panel-open");

    const stream = await generate(page, "Checkout fails on Safari when a gift card is applied");
    expect(stream[0]).toBe("start");
    expect(stream.filter((type) => type === "delta").length).toBeGreaterThan(5);
    expect(stream.at(-1)).toBe("done");
    expect(await tokens(page)).toBe(2);
    await screenshot(page, "jira-panel-generated");

    const title = (await panel(page).preview.locator(".myba-ticket-title").textContent()) ?? "";
    expect(title.length).toBeGreaterThan(5);
    await panel(page).insert.click();
    await panel(page).inserted.waitFor();
    expect(await state(page, "summary")).toBe(title);
    const shown = blocks(await doc(page, "description"));
    expect(shown.some((b) => b.type === "heading")).toBe(true);
    expect(shown.some((b) => b.type === "bullet_list" && (b.items ?? 0) > 0)).toBe(true);
    expect(shown.map((b) => b.text).join("\n")).toContain("Safari");
    await screenshot(page, "jira-panel-inserted");

    await page.bringToFront();
    await panel(page).copy.click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toContain(title);
    await page.close();
  });

  it("GitLab, rich text mode: Insert waits for the editor's server-side render", async () => {
    const page = await browser.context.newPage();
    await page.goto("https://gitlab.com/acme/webapp/-/issues");
    await page.getByRole("button", { name: "New item" }).click();
    await openPanel(page);
    expect(await tokens(page)).toBe(2);
    await generate(page, "Search results flicker while typing fast", "task");
    await screenshot(page, "gitlab-panel-generated");
    const title = (await panel(page).preview.locator(".myba-ticket-title").textContent()) ?? "";
    await panel(page).insert.click();
    await panel(page).inserted.waitFor({ timeout: 15_000 });
    expect(await state(page, "title")).toBe(title);
    const json = JSON.stringify(await doc(page, "description"));
    expect(json).not.toContain('"loading"');
    expect(blocks(await doc(page, "description")).some((b) => b.type === "heading")).toBe(true);
    await page.close();
  });

  it("sign-in through dev login in the popup moves the anonymous tokens and adds the welcome bonus", async () => {
    const before = await session();
    expect(before.kind).toBe("anonymous");
    const popup = await browser.context.newPage();
    await popup.goto(`chrome-extension://${browser.extensionId}/popup.html`);
    await expect.poll(() => popup.getByTestId("myba-popup-balance").textContent()).toContain("1");
    await popup.getByTestId("myba-dev-email").fill("ada@example.com");
    await popup.getByTestId("myba-signin-dev").click();
    await expect
      .poll(() => popup.getByTestId("myba-popup-account").textContent())
      .toContain("ada@example.com");
    // 1 anonymous token left + 6 welcome tokens.
    await expect.poll(() => popup.getByTestId("myba-popup-balance").textContent()).toContain("7");
    await popup.screenshot({ path: join(e2e.screenshotDir(), "popup-signed-in.png") });
    const after = await session();
    expect(after.kind).toBe("user");
    expect(after.accountId).not.toBe(before.accountId);
    await popup.close();
  });

  it("Linear, signed in: Insert fills both ProseMirror editors; no tokens left shows the buy path", async () => {
    const page = await browser.context.newPage();
    await page.goto("https://linear.app/acme/team/ENG/active");
    await page.keyboard.press("c");
    await openPanel(page);
    expect(await tokens(page)).toBe(7);
    await generate(page, "Rate limit the export endpoint per workspace", "story");
    await screenshot(page, "linear-panel-generated");
    const title = (await panel(page).preview.locator(".myba-ticket-title").textContent()) ?? "";
    await panel(page).insert.click();
    await panel(page).inserted.waitFor();
    expect(blocks(await doc(page, "title"))).toEqual([{ type: "paragraph", text: title }]);
    // The description arrives as structure, not as Markdown source typed into a paragraph.
    const description = blocks(await doc(page, "description"));
    expect(description.length).toBeGreaterThan(3);
    const headings = description.filter((b) => b.type === "heading").map((b) => b.text);
    expect(headings).toContain("Acceptance criteria");
    expect(description.some((b) => b.type === "bullet_list" && (b.items ?? 0) > 0)).toBe(true);
    expect(description.filter((b) => /^(#{1,6} |[-*] |\d+\. )/.test(b.text))).toEqual([]);

    // The balance runs out elsewhere (another device): the Worker refuses
    // before generating, and the panel offers to buy.
    await adjust((await session()).accountId, -6);
    // After Insert the panel is one line; New ticket opens it again.
    await page.locator("myba-ticket-panel [data-testid=myba-new]").click();
    await panel(page).input.fill("Rate limit the export endpoint per workspace");
    await panel(page).generate.click();
    await panel(page).error.waitFor();
    expect(await panel(page).error.getAttribute("data-code")).toBe("insufficient_tokens");
    // The badge agrees with the refusal, not with the balance from before.
    await expect.poll(() => tokens(page)).toBe(0);
    await expect.poll(() => panel(page).buy.isVisible()).toBe(true);
    await screenshot(page, "linear-panel-insufficient");
    await page.close();
  });
});
