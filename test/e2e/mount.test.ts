import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, e2e, launch, launcher } from "./harness";

let browser: Browser;
let page: Page;

beforeAll(async () => {
  browser = await launch();
  page = await browser.context.newPage();
});
afterAll(() => browser?.close());

const host = () => page.locator("myba-ticket-panel");

/** Gives the content script time to have run and looked (it throttles to 50 ms). */
async function settled() {
  await page.waitForLoadState("load");
  await page.waitForTimeout(400);
}

async function screenshot(name: string) {
  await page.screenshot({ path: join(e2e.screenshotDir(), `${name}.png`) });
}

describe("the launcher appears on each site's create form", () => {
  it("Jira: on the create modal opened over the page, inside its form, not before", async () => {
    await page.goto("https://example.atlassian.net/jira/your-work");
    await settled();
    expect(await host().count()).toBe(0);

    await page.click("#createGlobalItem");
    await expect.poll(() => host().count()).toBe(1);
    const insideForm = await page.evaluate(
      () => !!document.querySelector('[id="issue-create.ui.modal.create-form"] > myba-ticket-panel'),
    );
    expect(insideForm).toBe(true);
    await expect.poll(() => launcher(page).isVisible()).toBe(true);
    await screenshot("jira-launcher");

    // Cancel closes the modal: the host goes with it.
    await page.getByRole("button", { name: "Cancel" }).click();
    await expect.poll(() => host().count()).toBe(0);
  });

  it("Jira: with the `c` shortcut and on a page that opens with the modal", async () => {
    await page.goto("https://example.atlassian.net/jira/software/projects/SHOP/boards/1");
    await settled();
    await page.keyboard.press("c");
    await expect.poll(() => host().count()).toBe(1);

    await page.goto("https://example.atlassian.net/jira/your-work?create=1");
    await expect.poll(() => host().count()).toBe(1);
  });

  it("GitLab: on the work-item page, the legacy form, the epic form", async () => {
    for (const path of [
      "/acme/webapp/-/work_items/new",
      "/acme/legacy/-/issues/new",
      "/groups/acme/-/epics/new",
    ]) {
      await page.goto(`https://gitlab.com${path}`);
      await expect.poll(() => host().count(), { message: path }).toBe(1);
      await expect.poll(() => launcher(page).isVisible(), { message: path }).toBe(true);
    }
  });

  it("GitLab: in the New item modal of the issue list, not on the list itself", async () => {
    await page.goto("https://gitlab.com/acme/webapp/-/issues");
    await settled();
    expect(await host().count()).toBe(0);
    await page.getByRole("button", { name: "New item" }).click();
    await expect.poll(() => host().count()).toBe(1);
    expect(
      await page.evaluate(() => !!document.querySelector("#create-work-item-modal myba-ticket-panel")),
    ).toBe(true);
    await screenshot("gitlab-launcher");
  });

  it("GitLab: the launcher stays when the description switches between plain and rich", async () => {
    await page.goto("https://gitlab.com/acme/webapp/-/issues/new");
    await expect.poll(() => host().count()).toBe(1);
    await page.getByRole("button", { name: "Switch to rich text editing" }).click();
    await expect
      .poll(() => page.locator('[data-testid="content_editor_editablebox"] .ProseMirror').count())
      .toBe(1);
    await settled();
    expect(await host().count()).toBe(1);
  });

  it("Linear: in the dialog that `c` opens, on /new, and not elsewhere", async () => {
    await page.goto("https://linear.app/acme/team/ENG/active");
    await settled();
    expect(await host().count()).toBe(0);
    await page.keyboard.press("c");
    await expect.poll(() => host().count()).toBe(1);
    expect(await page.evaluate(() => !!document.querySelector('[role="dialog"] myba-ticket-panel'))).toBe(
      true,
    );
    await screenshot("linear-launcher");

    await page.goto("https://linear.app/new");
    await expect.poll(() => host().count()).toBe(1);
  });

  it("nothing on pages without a create form", async () => {
    for (const url of [
      "https://gitlab.com/explore",
      "https://linear.app/acme/settings/account",
      "https://example.atlassian.net/wiki/home",
    ]) {
      await page.goto(url);
      await settled();
      expect(await host().count(), url).toBe(0);
    }
  });
});
