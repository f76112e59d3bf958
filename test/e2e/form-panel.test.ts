import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {} from "../fixtures/sites/fixture";
import { type Browser, blocks, contentWorld, type DocNode, e2e, launch, launcher } from "./harness";

/**
 * The panel on forms that already hold something, end to end (real panel,
 * local Worker with the mock model): the form's template followed, refine
 * reading the editor as Markdown, subtasks appended, and Undo from the panel.
 */

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
  // The onboarding choice (the popup's): accepted, so the panel may start an anonymous session.
  const worker = browser.context.serviceWorkers()[0];
  await worker?.evaluate(() =>
    chrome.storage.local.set({ consent: { choice: "accepted", at: new Date().toISOString() } }),
  );
});
afterAll(() => browser?.close());

const $ = (page: Page, id: string) => page.locator(`myba-ticket-panel [data-testid=${id}]`);
const doc = (page: Page, view: string) =>
  page.evaluate((name) => globalThis.__fixture.views[name]?.state.doc.toJSON(), view) as Promise<DocNode>;
const state = <T>(page: Page, key: string) =>
  page.evaluate((k) => globalThis.__fixture.state[k], key) as Promise<T>;

async function pasteHtml(page: Page, view: string, html: string) {
  await page.evaluate((name) => globalThis.__fixture.views[name]?.focus(), view);
  await page.keyboard.press("Control+a");
  await page.evaluate(
    ([name, h]) =>
      globalThis.__fixture.views[name as string]?.pasteHTML(`<div data-pm-slice="0 0 []">${h}</div>`),
    [view, html],
  );
}

interface SentRequest {
  feature: string;
  context: { title: string; description: string; template?: string };
}

/** Records the generate requests the panel sends the background. */
async function recordRequests(page: Page) {
  const world = await contentWorld(page, browser.extensionId);
  await world.evaluate(`(() => {
    const log = (globalThis.__sent = []);
    const connect = chrome.runtime.connect.bind(chrome.runtime);
    chrome.runtime.connect = (...args) => {
      const port = connect(...args);
      const post = port.postMessage.bind(port);
      port.postMessage = (m) => { if (m?.type === "start") log.push(m.request); return post(m); };
      return port;
    };
    return true;
  })()`);
  return async () => (await world.evaluate<SentRequest[]>("globalThis.__sent")).at(-1);
}

/** Enough tokens for every test here, whatever the free allowance. */
async function topUp() {
  const worker = browser.context.serviceWorkers()[0];
  if (!worker) throw new Error("no service worker");
  const session = await worker.evaluate(
    async () => (await chrome.storage.local.get("session")).session as { accountId: string },
  );
  const response = await fetch(`${e2e.workerUrl()}/admin/accounts/${session.accountId}/adjust`, {
    method: "POST",
    headers: { Authorization: "Bearer e2e-admin-token", "Content-Type": "application/json" },
    body: JSON.stringify({ amount: 10, reason: "e2e: tokens for the form tests" }),
  });
  expect(response.status).toBe(200);
}

async function openPanel(page: Page) {
  await launcher(page).click();
  await expect
    .poll(async () => /\d/.test((await $(page, "myba-balance").textContent()) ?? ""), { timeout: 15_000 })
    .toBe(true);
}

async function generate(page: Page, prompt: string, feature: string) {
  await $(page, "myba-input").fill(prompt);
  await $(page, "myba-feature").selectOption(feature);
  await $(page, "myba-generate").click();
  await $(page, "myba-insert").waitFor({ timeout: 20_000 });
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(e2e.screenshotDir(), `${name}.png`) });

const TEMPLATE = [
  "<h2>Summary</h2><p>Describe the problem in a sentence…</p>",
  "<h2>Steps to reproduce</h2><p>List the steps…</p>",
  "<h2>Expected behaviour</h2><p>What should happen?</p>",
  '<ul><li><input type="checkbox"> Severity label set</li><li><input type="checkbox"> Screenshots attached</li></ul>',
].join("");

describe("the panel on forms that already hold something", () => {
  it("GitLab rich: follows the form's template, says what Insert replaces, and Undo puts the template back", async () => {
    const page = await browser.context.newPage();
    await page.goto("https://gitlab.com/acme/webapp/-/work_items/new");
    await launcher(page).waitFor();
    await pasteHtml(page, "description", TEMPLATE);
    const template = await doc(page, "description");
    expect(blocks(template).map((b) => b.type)).toContain("taskList");

    await openPanel(page);
    await topUp();
    const notice = $(page, "myba-template");
    await expect
      .poll(() => notice.textContent())
      .toContain("Following the form's template (3 sections, 2 checklist items)");
    await shot(page, "gitlab-template-notice");
    // Ignoring it is one click, and reversible.
    await $(page, "myba-template-ignore").click();
    await expect.poll(() => notice.textContent()).toContain("Ignoring the form's template");
    await $(page, "myba-template-use").click();

    const sent = await recordRequests(page);
    await generate(
      page,
      "Search results flicker while typing fast in the search box. Expected: the results update once typing stops.",
      "generate",
    );
    const request = await sent();
    expect(request?.context.description).toBe("");
    const headings = [...(request?.context.template ?? "").matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual(["Summary", "Steps to reproduce", "Expected behaviour"]);
    expect(request?.context.template).toContain("- [ ] Severity label set\n- [ ] Screenshots attached");
    expect(request?.context.template).toContain("Describe the problem in a sentence…");

    await expect
      .poll(() => $(page, "myba-will-replace").textContent())
      .toMatch(/Insert will replace the description \(\d+ lines\)/);
    await shot(page, "gitlab-template-generated");
    await $(page, "myba-insert").click();
    await $(page, "myba-inserted").waitFor({ timeout: 15_000 });
    // The ticket fills the form's template: its headings in its order, each
    // with something under it, and its checklist kept as a checklist.
    const filled = blocks(await doc(page, "description")).filter((b) => b.text.trim() !== "");
    const at = filled.flatMap((b, i) => (b.type === "heading" ? [i] : []));
    expect(at.map((i) => filled[i]?.text)).toEqual(["Summary", "Steps to reproduce", "Expected behaviour"]);
    for (const [n, i] of at.entries()) expect((at[n + 1] ?? filled.length) - i).toBeGreaterThan(1);
    const checklist = filled.find((b) => b.type === "taskList");
    expect(checklist).toMatchObject({ items: 2 });
    expect(checklist?.text).toMatch(/Severity label set.*Screenshots attached/);
    expect(filled.map((b) => b.text).join("\n")).toContain("flicker");
    await shot(page, "gitlab-template-inserted");

    await $(page, "myba-undo").click();
    await $(page, "myba-undone").waitFor({ timeout: 10_000 });
    expect(await doc(page, "description")).toEqual(template);
    expect(await state(page, "title")).toBe("");
    // The panel reads the form again: the template is back, and so is its notice.
    await expect
      .poll(() => $(page, "myba-template").textContent())
      .toContain("Following the form's template");
    await expect
      .poll(() => $(page, "myba-will-replace").textContent())
      .toMatch(/^Insert will replace the description/);
    await shot(page, "gitlab-template-undone");
    await page.close();
  });

  it("Linear: refine reads the list as a list and writes it back as one; Undo restores both editors", async () => {
    const page = await browser.context.newPage();
    await page.goto("https://linear.app/acme/team/ENG/new");
    await launcher(page).waitFor();
    await page.evaluate(() => globalThis.__fixture.views.title?.pasteText("Export times out"));
    await pasteHtml(
      page,
      "description",
      "<p>The CSV export times out for big workspaces.</p><ul><li><p>Happens above 10k rows</p></li><li><p>Only for admins</p></li></ul>",
    );
    const before = { title: await doc(page, "title"), description: await doc(page, "description") };
    await openPanel(page);
    const sent = await recordRequests(page);
    await generate(page, "Make it clearer", "refine");
    expect((await sent())?.context.description).toBe(
      "The CSV export times out for big workspaces.\n\n- Happens above 10k rows\n- Only for admins",
    );
    await $(page, "myba-insert").click();
    await $(page, "myba-inserted").waitFor();
    const after = blocks(await doc(page, "description"));
    const list = after.find((b) => b.type === "bullet_list" && b.text.includes("Happens above 10k rows"));
    expect(list?.items).toBeGreaterThanOrEqual(2);
    await shot(page, "linear-refined");

    await $(page, "myba-undo").click();
    await $(page, "myba-undone").waitFor({ timeout: 10_000 });
    expect(await doc(page, "title")).toEqual(before.title);
    expect(await doc(page, "description")).toEqual(before.description);
    await page.close();
  });

  it("Jira: subtasks are appended under a heading and the summary stays; Undo restores", async () => {
    const page = await browser.context.newPage();
    await page.goto("https://example.atlassian.net/jira/your-work?create=1");
    await launcher(page).waitFor();
    await page.fill("#summary-field", "Gift card checkout on Safari");
    await pasteHtml(page, "description", "<h2>Goal</h2><p>Customers pay with a gift card on Safari 17.</p>");
    const before = await doc(page, "description");
    await openPanel(page);
    await generate(page, "Split this up", "subtasks");
    await expect
      .poll(() => $(page, "myba-will-replace").textContent())
      .toContain(
        "Insert adds the subtasks under a “Subtasks” heading after the description. The title stays.",
      );
    await shot(page, "jira-subtasks-generated");
    await $(page, "myba-insert").click();
    await $(page, "myba-inserted").waitFor();
    expect(await state(page, "summary")).toBe("Gift card checkout on Safari");
    const shown = blocks(await doc(page, "description"));
    expect(shown.slice(0, 2)).toEqual(blocks(before));
    expect(shown[2]).toEqual({ type: "heading", text: "Subtasks" });
    expect(["ordered_list", "bullet_list"]).toContain(shown[3]?.type);
    expect(shown[3]?.items).toBeGreaterThanOrEqual(3);
    await shot(page, "jira-subtasks-inserted");

    await $(page, "myba-undo").click();
    await $(page, "myba-undone").waitFor({ timeout: 10_000 });
    expect(await doc(page, "description")).toEqual(before);
    expect(await state(page, "summary")).toBe("Gift card checkout on Safari");
    await page.close();
  });
});
