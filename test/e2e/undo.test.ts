import { join } from "node:path";
import { marked } from "marked";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type {} from "../fixtures/sites/fixture";
import { type Browser, blocks, contentWorld, type DocNode, e2e, launch, openWithAdapter } from "./harness";

/**
 * The form behaviour of issue 15 at the adapter level, in real Chromium on the
 * fixture sites' real editors: the description read back as Markdown,
 * subtasks appended without touching the title, and Undo restoring exactly
 * the documents the editors held (ProseMirror/tiptap state, React and Vue
 * state), so the site's app sees the undo.
 */

let browser: Browser;
let page: Page;

beforeAll(async () => {
  browser = await launch();
});
afterAll(() => browser?.close());
beforeEach(async () => {
  await page?.close();
  page = await browser.context.newPage();
});

const doc = (view: string) =>
  page.evaluate((name) => globalThis.__fixture.views[name]?.state.doc.toJSON(), view) as Promise<DocNode>;
const state = <T>(key: string) => page.evaluate((k) => globalThis.__fixture.state[k], key) as Promise<T>;
/** Sets a fixture editor's document from HTML, as a user's select-all and paste does (the page's own view). */
async function pasteHtml(view: string, html: string) {
  await page.evaluate((name) => globalThis.__fixture.views[name]?.focus(), view);
  await page.keyboard.press("Control+a");
  await page.evaluate(
    ([name, h]) =>
      globalThis.__fixture.views[name as string]?.pasteHTML(`<div data-pm-slice="0 0 []">${h}</div>`),
    [view, html],
  );
}

/** The adapter's snapshot/restore and append, driven in the content script's world. */
async function open() {
  const panel = await openWithAdapter(page, browser.extensionId);
  const world = await contentWorld(page, browser.extensionId);
  const call = <T>(expr: string) =>
    world.evaluate<T>(`(async () => { const t = globalThis.__mybaTest; ${expr} })()`);
  return {
    ...panel,
    snapshot: () => call<boolean>("globalThis.__snap = t.adapter.snapshot(t.form); return true;"),
    restore: () => call<{ ok: boolean }>("return t.adapter.restore(t.form, globalThis.__snap);"),
    append: (description: string) =>
      call<{ ok: boolean }>(
        `return t.adapter.insert(t.form, ${JSON.stringify({ title: "Subtasks: ignored", description, descriptionHtml: marked.parse(description) })}, { mode: "append" });`,
      ),
  };
}

const ticket = {
  title: "Checkout fails on Safari when a gift card is applied",
  description:
    "## Context\n\nCustomers on Safari 17 cannot pay.\n\n## Acceptance criteria\n\n- Checkout completes\n- A clear message on failure\n",
};
const withHtml = { ...ticket, descriptionHtml: marked.parse(ticket.description) as string };
const SUBTASKS =
  "## Subtasks\n\n- [ ] Reproduce on Safari 17\n- [ ] Fix the gift card handler\n- [ ] Add a regression test";
const EXISTING =
  "<h2>Goal</h2><p>Pay with a <strong>gift card</strong>.</p><ul><li><p>Safari</p><ul><li><p>17.1</p></li></ul></li><li><p>Chrome</p></li></ul>";

async function shot(name: string) {
  await page.screenshot({ path: join(e2e.screenshotDir(), `${name}.png`) });
}

describe("Undo restores exactly what the form held", () => {
  it("Jira: the React summary and the Atlassian editor's document", async () => {
    await page.goto("https://example.atlassian.net/jira/your-work?create=1");
    const panel = await open();
    await page.fill("#summary-field", "Gift card checkout");
    await pasteHtml("description", EXISTING);
    const before = await doc("description");
    expect(blocks(before).map((b) => b.type)).toEqual(["heading", "paragraph", "bullet_list"]);
    expect((await panel.context()).description).toBe(
      "## Goal\n\nPay with a **gift card**.\n\n- Safari\n  - 17.1\n- Chrome",
    );

    await panel.snapshot();
    expect(await panel.insert(ticket)).toEqual({ ok: true });
    expect(await state("summary")).toBe(ticket.title);
    expect(await panel.restore()).toEqual({ ok: true });
    expect(await state("summary")).toBe("Gift card checkout");
    expect(await doc("description")).toEqual(before);
  });

  it("Jira: an empty form is empty again (not a placeholder, not a stray paragraph)", async () => {
    await page.goto("https://example.atlassian.net/jira/your-work?create=1");
    const panel = await open();
    const before = await doc("description");
    await panel.snapshot();
    expect(await panel.insert(ticket)).toEqual({ ok: true });
    expect(await panel.restore()).toEqual({ ok: true });
    expect(await doc("description")).toEqual(before);
    expect(await state("summary")).toBe("");
    expect((await panel.context()).description).toBe("");
  });

  it("GitLab rich: the tiptap document, checklist and nesting included", async () => {
    await page.goto("https://gitlab.com/acme/webapp/-/work_items/new");
    const panel = await open();
    await page.fill('[data-testid="work-item-title-input"]', "Gift card checkout");
    await pasteHtml(
      "description",
      `${EXISTING}<ul><li><input type="checkbox"> Tests</li><li><input type="checkbox" checked> Docs</li></ul>`,
    );
    const before = await doc("description");
    // tiptap keeps an empty paragraph at the end of the document (its trailing node).
    expect(blocks(before).map((b) => b.type)).toEqual([
      "heading",
      "paragraph",
      "bulletList",
      "taskList",
      "paragraph",
    ]);
    await panel.snapshot();
    expect(await panel.insert(ticket)).toEqual({ ok: true });
    expect(await state("title")).toBe(ticket.title);
    expect(await panel.restore()).toEqual({ ok: true });
    expect(await doc("description")).toEqual(before);
    expect(await state("title")).toBe("Gift card checkout");
  });

  it("GitLab plain: the Vue textarea's Markdown, byte for byte", async () => {
    await page.goto("https://gitlab.com/acme/webapp/-/issues/new");
    const panel = await open();
    const md = "### Goal\n\n<!-- keep this comment -->\n- [ ] one\n  - two  \n";
    await page.fill('[data-testid="work-item-title-input"]', "Gift card checkout");
    await page.fill("textarea.js-gfm-input", md);
    await panel.snapshot();
    expect(await panel.insert(ticket)).toEqual({ ok: true });
    expect(await state("description")).toBe(ticket.description);
    expect(await panel.restore()).toEqual({ ok: true });
    expect(await state("description")).toBe(md);
    expect(await state("title")).toBe("Gift card checkout");
  });

  it("Linear: both ProseMirror editors, title and description", async () => {
    await page.goto("https://linear.app/acme/team/ENG/new");
    const panel = await open();
    await page.evaluate(() => globalThis.__fixture.views.title?.pasteText("Gift card checkout"));
    await pasteHtml("description", EXISTING);
    const before = { title: await doc("title"), description: await doc("description") };
    await panel.snapshot();
    expect(await panel.insert(withHtml)).toEqual({ ok: true });
    expect(blocks(await doc("title"))[0]?.text).toBe(ticket.title);
    expect(await panel.restore()).toEqual({ ok: true });
    expect(await doc("title")).toEqual(before.title);
    expect(await doc("description")).toEqual(before.description);
  });
});

describe("subtasks are appended under a heading; the title stays", () => {
  it("Jira", async () => {
    await page.goto("https://example.atlassian.net/jira/your-work?create=1");
    const panel = await open();
    await page.fill("#summary-field", "Gift card checkout");
    await pasteHtml("description", EXISTING);
    const before = blocks(await doc("description"));
    expect(await panel.append(SUBTASKS)).toEqual({ ok: true });
    expect(await state("summary")).toBe("Gift card checkout");
    const after = blocks(await doc("description"));
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length).map((b) => b.type)).toEqual(["heading", "bullet_list"]);
    expect(after[before.length]?.text).toBe("Subtasks");
    expect(after[before.length + 1]?.items).toBe(3);
    await shot("jira-subtasks-appended");
  });

  it("GitLab rich, a checklist after the existing blocks", async () => {
    await page.goto("https://gitlab.com/acme/webapp/-/work_items/new");
    const panel = await open();
    await page.fill('[data-testid="work-item-title-input"]', "Gift card checkout");
    await pasteHtml("description", EXISTING);
    const before = blocks(await doc("description")).slice(0, -1);
    const appended = await panel.append(SUBTASKS);
    expect(appended).toEqual({ ok: true });
    expect(await state("title")).toBe("Gift card checkout");
    const after = blocks(await doc("description")).filter((b, i, all) => i < all.length - 1 || b.text !== "");
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length).map((b) => [b.type, b.items ?? b.text])).toEqual([
      ["heading", "Subtasks"],
      ["taskList", 3],
    ]);
    await shot("gitlab-rich-subtasks-appended");
  });

  it("GitLab plain", async () => {
    await page.goto("https://gitlab.com/acme/webapp/-/issues/new");
    const panel = await open();
    await page.fill('[data-testid="work-item-title-input"]', "Gift card checkout");
    await page.fill("textarea.js-gfm-input", "Pay with a gift card.\n- Safari");
    expect(await panel.append(SUBTASKS)).toEqual({ ok: true });
    expect(await state("title")).toBe("Gift card checkout");
    expect(await state("description")).toBe(`Pay with a gift card.\n- Safari\n\n${SUBTASKS}\n`);
  });

  it("Linear", async () => {
    await page.goto("https://linear.app/acme/team/ENG/new");
    const panel = await open();
    await page.evaluate(() => globalThis.__fixture.views.title?.pasteText("Gift card checkout"));
    await pasteHtml("description", EXISTING);
    const before = blocks(await doc("description"));
    expect(await panel.append(SUBTASKS)).toEqual({ ok: true });
    expect(blocks(await doc("title"))[0]?.text).toBe("Gift card checkout");
    const after = blocks(await doc("description"));
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length).map((b) => b.type)).toEqual(["heading", "bullet_list"]);
  });
});
