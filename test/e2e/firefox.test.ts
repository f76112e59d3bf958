import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchFirefoxWithExtension } from "../fixtures/firefox.mjs";
import type {} from "../fixtures/sites/fixture";
import { blocks, type DocNode, e2e } from "./harness";

/**
 * The product in Debian's Firefox ESR, driven over WebDriver BiDi: the
 * extension installed as a temporary add-on, the fixture sites reached by
 * their real names, a real local Worker (mock AI). Per site: the launcher
 * mounts on the create form, a generation streams into the panel, and Insert
 * writes into the page's own fields, read back from the page's app state.
 * Forms that appear after load (Linear's `c` dialog, GitLab's New item modal)
 * get the launcher too; pages without a create form get none.
 * scripts/e2e.mjs builds the Firefox target and sets E2E_FIREFOX_EXTENSION_DIR
 * when Firefox is installed.
 */

const extensionDir = process.env.E2E_FIREFOX_EXTENSION_DIR;

let browser: Browser;
let close: () => Promise<void>;
let profile: string;

const inPanel = (testId: string) => `myba-ticket-panel >>> [data-testid=${testId}]`;

/** Text of a panel element, read from the page through the open shadow root (null while absent). */
const panelText = (page: Page, testId: string) =>
  page.evaluate(
    (id) =>
      document.querySelector("myba-ticket-panel")?.shadowRoot?.querySelector(`[data-testid="${id}"]`)
        ?.textContent ?? null,
    testId,
  );

const tokens = async (page: Page) =>
  Number((await panelText(page, "myba-balance"))?.match(/\d+/)?.[0] ?? Number.NaN);

const doc = (page: Page, view: string) =>
  page.evaluate((name) => globalThis.__fixture.views[name]?.state.doc.toJSON(), view) as Promise<DocNode>;
const state = <T>(page: Page, key: string) =>
  page.evaluate((k) => globalThis.__fixture.state[k], key) as Promise<T>;

async function openPanel(page: Page) {
  await page.locator(inPanel("myba-open")).click();
  await expect.poll(() => tokens(page), { timeout: 15_000 }).not.toBeNaN();
}

/**
 * Generates from a prompt and waits for the finished ticket. Returns the
 * preview's text lengths seen while it was in its streaming state: proof that
 * the ticket came through the relayed stream. (The mock model writes at once,
 * so how many partial lengths show is up to the renderer; counting the deltas
 * takes the content-script world, which WebDriver BiDi does not reach in
 * Firefox. flow.test.ts counts them in Chromium.)
 */
async function generate(page: Page, prompt: string, issueType: string) {
  await page.locator(inPanel("myba-input")).fill(prompt);
  await page.select(inPanel("myba-issue-type"), issueType);
  await page.evaluate(() => {
    const root = document.querySelector("myba-ticket-panel")?.shadowRoot;
    if (!root) throw new Error("no panel");
    const seen: number[] = [];
    (globalThis as { __streamSeen?: number[] }).__streamSeen = seen;
    new MutationObserver(() => {
      const preview = root.querySelector('[data-testid="myba-preview"]');
      if (preview?.getAttribute("data-state") !== "streaming") return;
      const length = preview.textContent?.length ?? 0;
      if (seen.at(-1) !== length) seen.push(length);
    }).observe(root, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  await page.locator(inPanel("myba-generate")).click();
  await page.locator(inPanel("myba-insert")).setTimeout(20_000).wait();
  return page.evaluate(() => (globalThis as { __streamSeen?: number[] }).__streamSeen ?? []);
}

/** Presses Insert; resolves to the panel's notice (the success one, or the error). */
async function insert(page: Page) {
  await page.locator(inPanel("myba-insert")).click();
  const notice = await page
    .locator(`${inPanel("myba-inserted")}, ${inPanel("myba-insert-error")}`)
    .setTimeout(15_000)
    .waitHandle();
  const [testId, text] = await notice.evaluate((el) => [el.getAttribute("data-testid"), el.textContent]);
  return { ok: testId === "myba-inserted", text };
}

/**
 * Adds tokens to the account this browser uses, found through the Worker's
 * admin API as the newest account (each test file runs alone); its balance
 * must be the one the panel shows.
 */
async function topUp(page: Page, amount: number) {
  const admin = (path: string, init?: RequestInit) =>
    fetch(`${e2e.workerUrl()}/admin/accounts${path}`, {
      ...init,
      headers: { Authorization: "Bearer e2e-admin-token", "Content-Type": "application/json" },
    });
  const { items } = (await (await admin("?limit=1")).json()) as { items: { id: string }[] };
  const id = items[0]?.id ?? "";
  const { tokens: wallet } = (await (await admin(`/${id}`)).json()) as { tokens: { balance: number } };
  expect(wallet.balance).toBe(await tokens(page));
  const response = await admin(`/${id}/adjust`, {
    method: "POST",
    body: JSON.stringify({ amount, reason: "e2e: one more Firefox generation" }),
  });
  expect(response.status).toBe(200);
}

const title = async (page: Page) =>
  (await page.$eval(inPanel("myba-preview"), (el) => el.querySelector(".myba-ticket-title")?.textContent)) ??
  "";

/** How many launcher hosts the page holds. */
const hosts = (page: Page) => page.$$eval("myba-ticket-panel", (els) => els.length);

/** Gives the content script time to have run and looked (it throttles to 50 ms), as mount.test.ts does. */
async function settled(page: Page) {
  await page.waitForFunction(() => document.readyState === "complete");
  await new Promise((resolve) => setTimeout(resolve, 400));
}

/**
 * The free tokens went to earlier tests: checks the panel shows 0, adds one
 * token, reloads and `reopen`s the form (for a form that opens after load),
 * then checks the panel shows it.
 */
async function withOneToken(page: Page, reopen: () => Promise<void> = async () => {}) {
  expect(await tokens(page)).toBe(0);
  await topUp(page, 1);
  await page.reload();
  await reopen();
  await openPanel(page);
  expect(await tokens(page)).toBe(1);
}

/** Linear after Insert: the title paragraph, and the description as real structure, no Markdown left. */
async function expectLinearTicket(page: Page, expected: string) {
  expect(blocks(await doc(page, "title"))).toEqual([{ type: "paragraph", text: expected }]);
  const description = blocks(await doc(page, "description"));
  expect(description.filter((b) => b.type === "heading").map((b) => b.text)).toContain("Acceptance criteria");
  expect(description.some((b) => b.type === "bullet_list" && (b.items ?? 0) > 0)).toBe(true);
  expect(description.filter((b) => /^(#{1,6} |[-*] |\d+\. )/.test(b.text))).toEqual([]);
}

/** GitLab rich text after Insert: the Vue title, and a description rendered (not left loading) with a heading. */
async function expectGitLabRichTicket(page: Page, expected: string) {
  expect(await state(page, "title")).toBe(expected);
  const json = JSON.stringify(await doc(page, "description"));
  expect(json).not.toContain('"loading"');
  expect(blocks(await doc(page, "description")).some((b) => b.type === "heading")).toBe(true);
}

describe.skipIf(!extensionDir)("Firefox: mount, generate and insert on each site", () => {
  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), "myba-firefox-"));
    const launched = await launchFirefoxWithExtension({
      extensionDir: extensionDir ?? "",
      fixturePort: e2e.fixturePort(),
      profile,
      dumpio: process.env.E2E_FIREFOX_DUMPIO === "1",
    });
    browser = launched.browser;
    close = launched.close;
  });
  afterAll(async () => {
    await close?.();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("Jira: the launcher mounts, a ticket streams, Insert fills the React summary and the Atlassian editor", async () => {
    const page = await browser.newPage();
    await page.goto("https://example.atlassian.net/jira/your-work");
    await page.locator("#createGlobalItem").click();
    await openPanel(page);
    expect(await tokens(page)).toBe(3);

    const streamed = await generate(page, "Checkout fails on Safari when a gift card is applied", "bug");
    expect(streamed.length).toBeGreaterThan(0);
    expect(await tokens(page)).toBe(2);
    const expected = await title(page);
    expect(expected.length).toBeGreaterThan(5);

    expect(await insert(page)).toMatchObject({ ok: true });
    expect(await state(page, "summary")).toBe(expected);
    const shown = blocks(await doc(page, "description"));
    expect(shown.some((b) => b.type === "heading")).toBe(true);
    expect(shown.some((b) => b.type === "bullet_list" && (b.items ?? 0) > 0)).toBe(true);
    expect(shown.map((b) => b.text).join("\n")).toContain("Safari");
    // The comment box that shares the editor's id is left alone.
    expect(blocks(await doc(page, "comment")).map((b) => b.text)).toEqual([""]);
    await page.screenshot({ path: join(e2e.screenshotDir(), "firefox-jira-inserted.png") });
    await page.close();
  });

  it("GitLab, rich text mode: Insert waits for the editor's server-side render", async () => {
    const page = await browser.newPage();
    await page.goto("https://gitlab.com/acme/webapp/-/work_items/new");
    await openPanel(page);
    const streamed = await generate(page, "Search results flicker while typing fast", "task");
    expect(streamed.length).toBeGreaterThan(0);
    const expected = await title(page);

    expect(await insert(page)).toMatchObject({ ok: true });
    await expectGitLabRichTicket(page, expected);
    await page.close();
  });

  it("Linear: Insert fills both ProseMirror editors, the description as structure", async () => {
    const page = await browser.newPage();
    await page.goto("https://linear.app/new");
    await openPanel(page);
    const streamed = await generate(page, "Rate limit the export endpoint per workspace", "story");
    expect(streamed.length).toBeGreaterThan(0);
    const expected = await title(page);

    expect(await insert(page)).toMatchObject({ ok: true });
    await expectLinearTicket(page, expected);
    await page.screenshot({ path: join(e2e.screenshotDir(), "firefox-linear-inserted.png") });
    await page.close();
  });

  it("GitLab, plain mode: Insert fills the Vue v-model textarea", async () => {
    const page = await browser.newPage();
    await page.goto("https://gitlab.com/acme/webapp/-/issues/new");
    await openPanel(page);
    // The three free tokens went to the other sites.
    await withOneToken(page);
    await generate(page, "Export to CSV drops the last row", "bug");
    const expected = await title(page);

    expect(await insert(page)).toMatchObject({ ok: true });
    expect(await state(page, "title")).toBe(expected);
    expect(await state<string>(page, "description")).toMatch(/^#{2,3} Acceptance criteria$/m);
    await page.close();
  });

  it("Linear: the launcher mounts in the dialog that `c` opens after load, and Insert fills it", async () => {
    const page = await browser.newPage();
    await page.goto("https://linear.app/acme/team/ENG/active");
    await settled(page);
    expect(await hosts(page)).toBe(0);
    await page.keyboard.press("c");
    await expect.poll(() => hosts(page)).toBe(1);
    expect(await page.evaluate(() => !!document.querySelector('[role="dialog"] myba-ticket-panel'))).toBe(
      true,
    );
    await openPanel(page);
    await withOneToken(page, async () => {
      await settled(page);
      await page.keyboard.press("c");
    });
    await generate(page, "Archive stale projects after ninety days", "story");
    const expected = await title(page);

    expect(await insert(page)).toMatchObject({ ok: true });
    await expectLinearTicket(page, expected);
    await page.screenshot({ path: join(e2e.screenshotDir(), "firefox-linear-dialog-inserted.png") });
    await page.close();
  });

  it("GitLab: the launcher mounts in the New item modal opened from the issue list, and Insert fills it", async () => {
    const page = await browser.newPage();
    await page.goto("https://gitlab.com/acme/webapp/-/issues");
    await settled(page);
    expect(await hosts(page)).toBe(0);
    await page.locator(".list-header .btn-confirm").click();
    await expect.poll(() => hosts(page)).toBe(1);
    expect(
      await page.evaluate(() => !!document.querySelector("#create-work-item-modal myba-ticket-panel")),
    ).toBe(true);
    await openPanel(page);
    await withOneToken(page, async () => {
      await settled(page);
      await page.locator(".list-header .btn-confirm").click();
    });
    await generate(page, "Pagination resets when a filter is cleared", "task");
    const expected = await title(page);

    expect(await insert(page)).toMatchObject({ ok: true });
    await expectGitLabRichTicket(page, expected);
    await page.close();
  });

  it("nothing on pages without a create form", async () => {
    const page = await browser.newPage();
    for (const url of [
      "https://gitlab.com/explore",
      "https://linear.app/acme/settings/account",
      "https://example.atlassian.net/wiki/home",
    ]) {
      await page.goto(url);
      await settled(page);
      expect(await hosts(page), url).toBe(0);
    }
    await page.close();
  });
});
