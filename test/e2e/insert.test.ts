import { marked } from "marked";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type {} from "../fixtures/sites/fixture";
import { type Browser, blocks, type DocNode, launch, openWithAdapter } from "./harness";

/**
 * The site adapters write into the fixture sites' real editors, driven from
 * the content script's own world; every assertion reads what the page's app
 * holds (ProseMirror/tiptap documents, React and Vue state).
 */

const ticket = {
  title: "Checkout fails on Safari when a gift card is applied",
  description: [
    "## Context",
    "Customers on Safari 17 cannot finish checkout once a gift card is applied.",
    "",
    "## Steps to reproduce",
    "1. Add an item to the cart",
    "2. Apply a gift card",
    "3. Press **Pay now**",
    "Nothing happens and the console shows a TypeError.",
    "",
    "## Acceptance criteria",
    "- Checkout completes on Safari 17 with a gift card",
    "- A clear message appears when the payment fails",
    "",
  ].join("\n"),
};

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

/** Loads a fixture page and opens the launcher with the adapter the content script hands over. */
async function openAt(url: string) {
  await page.goto(url);
  return openWithAdapter(page, browser.extensionId);
}

describe("Jira", () => {
  const open = (query = "") => openAt(`https://example.atlassian.net/jira/your-work?create=1${query}`);

  it("reads the project and work type from the form's pickers", async () => {
    const panel = await open();
    expect(await panel.context()).toMatchObject({
      site: "jira",
      project: "Webshop (SHOP)",
      issueType: "Story",
      title: "",
      description: "", // the placeholder is not the user's text
    });
  });

  it("fills the React summary and the Atlassian editor, Markdown parsed, lists ended", async () => {
    const panel = await open();
    // A draft the user typed is replaced, not appended to.
    await page.locator('[id="issue-create.ui.modal.create-form"] .ProseMirror').click();
    await page.keyboard.type("old draft");
    expect(await panel.insert(ticket)).toEqual({ ok: true });

    expect(await state("summary")).toBe(ticket.title);
    const shown = blocks(await doc("description"));
    expect(shown.map((b) => b.type)).toEqual([
      "heading",
      "paragraph",
      "heading",
      "ordered_list",
      "paragraph",
      "heading",
      "bullet_list",
    ]);
    expect(shown[3]?.items).toBe(3);
    expect(shown[4]?.text).toBe("Nothing happens and the console shows a TypeError.");
    expect(shown.map((b) => b.text).join(" ")).not.toContain("old draft");
    // The comment box that shares the editor's id is left alone.
    expect(blocks(await doc("comment")).map((b) => b.text)).toEqual([""]);

    expect(await panel.context()).toMatchObject({ title: ticket.title });
    expect((await panel.context()).description).toContain("Customers on Safari 17");
  });

  it("reports the description it could not write, so the panel offers Copy", async () => {
    const panel = await open("&paste=ignore");
    const result = await panel.insert(ticket);
    expect(result).toMatchObject({ ok: false, field: "description" });
    // The summary still went in.
    expect(await state("summary")).toBe(ticket.title);
  });
});

describe("GitLab", () => {
  it("rich mode: waits for the server-rendered Markdown before reporting success", async () => {
    const panel = await openAt("https://gitlab.com/acme/webapp/-/work_items/new");
    expect(await panel.context()).toMatchObject({
      site: "gitlab",
      project: "acme/webapp",
      issueType: "Issue",
    });

    expect(await panel.insert(ticket)).toEqual({ ok: true });
    // Checked right away: success was not reported while the placeholder stood.
    // Standard Markdown: the unindented line after item 3 continues it (lazily).
    const shown = blocks(await doc("description")).filter((b, i, all) => i < all.length - 1 || b.text !== "");
    expect(shown.map((b) => b.type)).toEqual([
      "heading",
      "paragraph",
      "heading",
      "orderedList",
      "heading",
      "bulletList",
    ]);
    expect(shown[3]?.items).toBe(3);
    expect(shown[3]?.text).toContain("Nothing happens");
    expect(JSON.stringify(await doc("description"))).not.toContain('"loading"');
    expect(await state("title")).toBe(ticket.title);
    // The hidden input carrying the description's id is not what the form reads.
    expect(await page.inputValue("#work-item-description")).toBe("");
  });

  it("plain mode: the Vue v-model textarea holds the Markdown", async () => {
    const panel = await openAt("https://gitlab.com/acme/webapp/-/issues/new");
    expect(await panel.insert(ticket)).toEqual({ ok: true });
    expect(await state("title")).toBe(ticket.title);
    expect(await state("description")).toBe(ticket.description);
    expect((await panel.context()).description).toBe(ticket.description);
  });

  it("the New item modal and the legacy form", async () => {
    await page.goto("https://gitlab.com/acme/webapp/-/issues");
    await page.getByRole("button", { name: "New item" }).click();
    let panel = await openWithAdapter(page, browser.extensionId);
    expect(await panel.insert(ticket)).toEqual({ ok: true });
    expect(await state("title")).toBe(ticket.title);
    expect(blocks(await doc("description")).some((b) => b.type === "orderedList" && b.items === 3)).toBe(
      true,
    );

    panel = await openAt("https://gitlab.com/acme/legacy/-/issues/new");
    expect(await panel.context()).toMatchObject({ project: "acme/legacy" });
    expect(await panel.insert(ticket)).toEqual({ ok: true });
    expect(await state("title")).toBe(ticket.title);
    expect(await state("description")).toBe(ticket.description);
  });

  it("reads an epic form's type", async () => {
    const panel = await openAt("https://gitlab.com/groups/acme/-/epics/new");
    expect(await panel.context()).toMatchObject({ project: "acme", issueType: "Epic" });
  });
});

describe("Linear", () => {
  it("title on one line, description from HTML into the ProseMirror document", async () => {
    await page.goto("https://linear.app/acme/team/ENG/active");
    await page.keyboard.press("c");
    const panel = await openWithAdapter(page, browser.extensionId);
    expect(await panel.context()).toMatchObject({
      site: "linear",
      project: "ENG",
      title: "",
      description: "",
    });

    const html = await marked.parse(ticket.description);
    expect(await panel.insert({ ...ticket, title: `${ticket.title}\n`, descriptionHtml: html })).toEqual({
      ok: true,
    });
    const title = blocks(await doc("title"));
    expect(title).toEqual([{ type: "paragraph", text: ticket.title }]);
    const shown = blocks(await doc("description"));
    expect(shown.map((b) => b.type)).toEqual([
      "heading",
      "paragraph",
      "heading",
      "ordered_list",
      "heading",
      "bullet_list",
    ]);
    expect(shown[3]?.items).toBe(3);
    expect(shown[5]?.items).toBe(2);
  });

  it("without HTML the Markdown goes in as text, and still counts as written", async () => {
    const panel = await openAt("https://linear.app/new");
    expect(await panel.insert(ticket)).toEqual({ ok: true });
    expect(blocks(await doc("description")).map((b) => b.text)).toContain(
      "Customers on Safari 17 cannot finish checkout once a gift card is applied.",
    );
  });
});
