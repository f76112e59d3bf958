import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, e2e, launch } from "./harness";

/**
 * The popup's Team view against the real Worker's team routes: an owner
 * creates a team, sets a member's limit through the invite, and a second
 * user joins with the code; both see what the routes answer.
 */

let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(() => browser?.close());

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(e2e.screenshotDir(), `${name}.png`), fullPage: true });

async function popup(hash = ""): Promise<Page> {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 400, height: 900 });
  await page.goto(`chrome-extension://${browser.extensionId}/popup.html${hash}`);
  return page;
}

async function signIn(page: Page, email: string) {
  await page.getByTestId("myba-tab-account").click();
  await page.getByTestId("myba-dev-email").fill(email);
  await page.getByTestId("myba-signin-dev").click();
  await expect.poll(() => page.getByTestId("myba-popup-account").textContent()).toContain(email);
}

describe("the Team view, end to end", () => {
  it("an owner creates a team and invites; a second user joins with the code and sees their limit", async () => {
    const owner = await popup();
    await signIn(owner, "owner@example.com");
    await owner.getByTestId("myba-tab-team").click();
    await owner.getByTestId("myba-team-name").fill("Payments");
    await owner.getByTestId("myba-team-create").click();
    await expect.poll(() => owner.getByTestId("myba-team-title").textContent()).toBe("Payments");
    await expect.poll(() => owner.getByTestId("myba-team-member").count()).toBe(1);

    await owner.getByTestId("myba-invite-limit").fill("5");
    await owner.getByTestId("myba-team-invite").click();
    const code = (await owner.getByTestId("myba-invite-code").textContent()) ?? "";
    expect(code).toMatch(/^myba_inv_/);
    await shot(owner, "popup-team-owner-invite");

    await owner.getByTestId("myba-tab-account").click();
    await owner.getByTestId("myba-signout").click();
    await owner.close();

    const member = await popup("#team");
    await signIn(member, "member@example.com");
    await member.getByTestId("myba-tab-team").click();
    await member.getByTestId("myba-team-code").fill(code);
    await member.getByTestId("myba-team-join").click();
    await expect
      .poll(() => member.getByTestId("myba-team-message").textContent())
      .toBe("You joined “Payments”.");
    await expect
      .poll(() => member.getByTestId("myba-team-own-limit").textContent())
      .toContain("0 of 5 tokens this month");
    // A member sees only their own entry and none of the owner's tools.
    await expect.poll(() => member.getByTestId("myba-team-member").count()).toBe(1);
    expect(await member.getByTestId("myba-team-invite").count()).toBe(0);
    await shot(member, "popup-team-member-joined");

    // The same code a second time: the route's answer, in words.
    await member.getByTestId("myba-team-code").fill(code);
    await member.getByTestId("myba-team-join").click();
    await expect.poll(() => member.getByTestId("myba-team-message").getAttribute("role")).toBe("alert");
    await member.close();
  });
});
