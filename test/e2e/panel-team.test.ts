import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, e2e, launch, launcher } from "./harness";

/**
 * A team member pays from the team in the panel, against the real Worker:
 * an owner (through the API) makes a team with 10 tokens and invites with a
 * 2-token monthly limit; the browser's user joins in the popup, picks the
 * team in `myba-wallet`, generates twice, and the third time is told the
 * limit is spent.
 */

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(() => browser?.close());

const api = async <T>(path: string, init: { token?: string; body?: unknown } = {}): Promise<T> => {
  const res = await fetch(`${e2e.workerUrl()}${path}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
    },
    body: JSON.stringify(init.body ?? {}),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};

const $ = (page: Page, id: string) => page.locator(`myba-ticket-panel [data-testid=${id}]`);

async function generateAndInsert(page: Page, prompt: string) {
  await $(page, "myba-input").fill(prompt);
  await $(page, "myba-generate").click();
  await $(page, "myba-insert").waitFor({ timeout: 20_000 });
  await $(page, "myba-insert").click();
  await $(page, "myba-inserted").waitFor();
}

describe("paying from a team in the panel", () => {
  it("a member picks the team, the badge shows what is left of their limit, then the limit message", async () => {
    const owner = await api<{ token: string }>("/auth/dev-login", {
      body: { email: "panel-owner@example.com" },
    });
    const { team } = await api<{ team: { id: string } }>("/api/teams", {
      token: owner.token,
      body: { name: "Acme" },
    });
    await api(`/__dev/wallets/${team.id}/grant`, { body: { amount: 10 } });
    const { invite } = await api<{ invite: { code: string } }>(`/api/teams/${team.id}/invites`, {
      token: owner.token,
      body: { role: "member", monthlyLimit: 2 },
    });

    const popup = await browser.context.newPage();
    await popup.goto(`chrome-extension://${browser.extensionId}/popup.html#account`);
    await popup.getByTestId("myba-dev-email").fill("panel-member@example.com");
    await popup.getByTestId("myba-signin-dev").click();
    await expect
      .poll(() => popup.getByTestId("myba-popup-account").textContent())
      .toContain("panel-member@example.com");
    await popup.getByTestId("myba-tab-team").click();
    await popup.getByTestId("myba-team-code").fill(invite.code);
    await popup.getByTestId("myba-team-join").click();
    await expect.poll(() => popup.getByTestId("myba-team-message").textContent()).toContain("Acme");
    await popup.close();

    const page = await browser.context.newPage();
    await page.goto("https://example.atlassian.net/jira/your-work");
    await page.click("#createGlobalItem");
    await launcher(page).click();
    const wallet = $(page, "myba-wallet");
    await wallet.waitFor({ timeout: 15_000 });
    await wallet.selectOption(team.id);
    // 10 in the team, 2 left of this member's monthly limit.
    await expect.poll(() => $(page, "myba-balance").textContent()).toBe("2 tokens · Acme");
    await page.screenshot({ path: join(e2e.screenshotDir(), "panel-team-wallet.png") });

    await generateAndInsert(page, "Refunds over 500 EUR need a second approver");
    await $(page, "myba-new").click();
    await expect.poll(() => $(page, "myba-balance").textContent()).toBe("1 token · Acme");
    await generateAndInsert(page, "Show the approver's name on the refund");
    await $(page, "myba-new").click();
    await expect.poll(() => $(page, "myba-balance").textContent()).toBe("0 tokens · Acme");

    // The choice is remembered for the site: a fresh page opens on the team.
    await page.reload();
    await page.click("#createGlobalItem");
    await launcher(page).click();
    await expect.poll(() => $(page, "myba-wallet").inputValue(), { timeout: 15_000 }).toBe(team.id);

    await $(page, "myba-input").fill("Export refunds as CSV");
    await $(page, "myba-generate").click();
    const error = $(page, "myba-error");
    await error.waitFor({ timeout: 15_000 });
    expect(await error.getAttribute("data-code")).toBe("member_limit_reached");
    expect(await error.textContent()).toContain("Ask a team owner or admin");
    await page.screenshot({ path: join(e2e.screenshotDir(), "panel-team-limit.png") });
    await page.close();
  });
});
