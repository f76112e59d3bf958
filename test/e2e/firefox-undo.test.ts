import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchFirefoxWithExtension } from "../fixtures/firefox.mjs";
import type {} from "../fixtures/sites/fixture";
import { blocks, type DocNode, e2e } from "./harness";

/**
 * Undo and appended subtasks in Firefox ESR (WebDriver BiDi), where the
 * synthetic paste and the select-all key reach the page through Gecko's own
 * paths (decisions 007, 014): the editors' documents after Undo are the ones
 * they held before Insert.
 */

const extensionDir = process.env.E2E_FIREFOX_EXTENSION_DIR;
let browser: Browser;
let close: () => Promise<void>;
let profile: string;

const inPanel = (testId: string) => `myba-ticket-panel >>> [data-testid=${testId}]`;
const panelText = (page: Page, testId: string) =>
  page.evaluate(
    (id) =>
      document.querySelector("myba-ticket-panel")?.shadowRoot?.querySelector(`[data-testid="${id}"]`)
        ?.textContent ?? null,
    testId,
  );
const doc = (page: Page, view: string) =>
  page.evaluate((name) => globalThis.__fixture.views[name]?.state.doc.toJSON(), view) as Promise<DocNode>;
const state = <T>(page: Page, key: string) =>
  page.evaluate((k) => globalThis.__fixture.state[k], key) as Promise<T>;

/** Sets an editor's document as a user's select-all and paste would (the page's own view). */
async function pasteHtml(page: Page, view: string, html: string) {
  await page.evaluate((name) => globalThis.__fixture.views[name]?.focus(), view);
  await page.keyboard.down("Control");
  await page.keyboard.press("a");
  await page.keyboard.up("Control");
  await page.evaluate(
    (name, h) => globalThis.__fixture.views[name]?.pasteHTML(`<div data-pm-slice="0 0 []">${h}</div>`),
    view,
    html,
  );
}

async function generateAndInsert(page: Page, prompt: string, feature: string) {
  await page.locator(inPanel("myba-open")).click();
  await expect.poll(() => panelText(page, "myba-balance"), { timeout: 15_000 }).toMatch(/\d/);
  await page.locator(inPanel("myba-input")).fill(prompt);
  await page.select(inPanel("myba-feature"), feature);
  await page.locator(inPanel("myba-generate")).click();
  await page.locator(inPanel("myba-insert")).setTimeout(20_000).click();
  await page.locator(inPanel("myba-inserted")).setTimeout(15_000).wait();
}

async function undo(page: Page) {
  await page.locator(inPanel("myba-undo")).click();
  await page.locator(inPanel("myba-undone")).setTimeout(10_000).wait();
}

describe.skipIf(!extensionDir)("Firefox: Undo and appended subtasks", () => {
  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), "myba-firefox-undo-"));
    const launched = await launchFirefoxWithExtension({
      extensionDir: extensionDir ?? "",
      fixturePort: e2e.fixturePort(),
      profile,
      // Its own device (another language list, another fingerprint), so its
      // anonymous account is not the one firefox.test.ts spends to 0.
      prefs: { "intl.accept_languages": "fr-FR, fr" },
    });
    browser = launched.browser;
    close = launched.close;
  });
  afterAll(async () => {
    await close?.();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("Jira: Undo restores the React summary and the Atlassian editor's document", async () => {
    const page = await browser.newPage();
    await page.goto("https://example.atlassian.net/jira/your-work?create=1");
    await page.locator("#summary-field").fill("Gift card checkout");
    await pasteHtml(
      page,
      "description",
      "<h2>Goal</h2><p>Pay with a gift card.</p><ul><li><p>Safari</p></li></ul>",
    );
    const before = await doc(page, "description");
    await generateAndInsert(page, "Checkout fails on Safari when a gift card is applied", "generate");
    expect(await state(page, "summary")).not.toBe("Gift card checkout");
    await undo(page);
    expect(await doc(page, "description")).toEqual(before);
    expect(await state(page, "summary")).toBe("Gift card checkout");
    await page.close();
  });

  it("GitLab rich: subtasks are appended and the title stays; Undo restores the tiptap document", async () => {
    const page = await browser.newPage();
    await page.goto("https://gitlab.com/acme/webapp/-/work_items/new");
    await page.locator('[data-testid="work-item-title-input"]').fill("Gift card checkout");
    await pasteHtml(page, "description", "<h2>Goal</h2><p>Pay with a gift card.</p>");
    const before = await doc(page, "description");
    await generateAndInsert(page, "Split this up", "subtasks");
    expect(await state(page, "title")).toBe("Gift card checkout");
    const shown = blocks(await doc(page, "description")).filter((b) => b.text.trim() !== "");
    expect(shown.map((b) => b.type)).toEqual(["heading", "paragraph", "heading", "taskList"]);
    expect(shown[2]?.text).toBe("Subtasks");
    await page.screenshot({ path: join(e2e.screenshotDir(), "firefox-gitlab-subtasks.png") });
    await undo(page);
    expect(await doc(page, "description")).toEqual(before);
    await page.close();
  });
});
