import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";

const post = (path: string, body: unknown) =>
  SELF.fetch(`http://127.0.0.1${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });

describe("/__dev wallet levers", () => {
  it("grants and charges a wallet while dev login is on", async () => {
    expect((await post("/__dev/wallets/acc_bench/grant", { amount: 2 })).status).toBe(200);
    const ok = await post("/__dev/wallets/acc_bench/charge", {});
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ charged: 1, tokens: { available: 1 } });
    await post("/__dev/wallets/acc_bench/charge", {});
    const broke = await post("/__dev/wallets/acc_bench/charge", {});
    expect(broke.status).toBe(402);
    expect(await broke.json()).toMatchObject({
      error: { code: "insufficient_tokens", required: 1, available: 0, shortage: 1 },
    });
    const stats = await SELF.fetch("http://127.0.0.1/__dev/wallets/acc_bench/stats");
    expect(await stats.json()).toMatchObject({ stats: { unsynced: 0 }, tokens: { used: 2 } });
    expect(await (await SELF.fetch("http://127.0.0.1/__dev/reconcile")).json()).toMatchObject({ ok: true });
  });

  it("pings a wallet twice without changing it", async () => {
    await post("/__dev/wallets/acc_ping/grant", { amount: 3 });
    const res = await post("/__dev/wallets/acc_ping/ping", {});
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ stats: { unsynced: 0, pendingCredits: 0 } });
    const after = await (await SELF.fetch("http://127.0.0.1/__dev/wallets/acc_ping/stats")).json();
    expect(after).toMatchObject({ tokens: { available: 3, held: 0, used: 0 } });
  });

  it("charges once for a charge retried with the same key", async () => {
    await post("/__dev/wallets/acc_retry/grant", { amount: 5 });
    for (let i = 0; i < 3; i++) {
      const res = await post("/__dev/wallets/acc_retry/charge", { key: "lost-answer" });
      expect(await res.json()).toMatchObject({ charged: 1, tokens: { available: 4 } });
    }
  });

  it("charges a team member under their monthly limit, then answers 402 member_limit_reached", async () => {
    const team = "/__dev/wallets/team_devbench0001";
    await post(`${team}/grant`, { amount: 10 });
    const member = { accountId: "acc_dev_member", monthlyLimit: 2 };
    for (let i = 0; i < 2; i++) expect((await post(`${team}/charge`, { member })).status).toBe(200);
    const over = await post(`${team}/charge`, { member });
    expect(over.status).toBe(402);
    expect(await over.json()).toMatchObject({
      error: { code: "member_limit_reached", limit: 2, spent: 2, resetsAt: expect.any(String) },
    });
    const stats = await (await SELF.fetch(`http://127.0.0.1${team}/stats`)).json();
    expect(stats).toMatchObject({
      tokens: { available: 8, used: 2 },
      members: [{ accountId: "acc_dev_member", spent: 2, held: 0 }],
    });
  });

  it("refuses bad input with 400 and changes nothing", async () => {
    const res = await post("/__dev/wallets/acc_bench2/grant", { amount: -5 });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_request" } });
  });

  it('does not exist unless AUTH_DEV_LOGIN is "true"', async () => {
    for (const flag of [undefined, "false", "1"]) {
      const res = await app.request(
        "/__dev/wallets/acc_x/grant",
        { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"amount":5}' },
        { ...env, AUTH_DEV_LOGIN: flag },
      );
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
    }
    const reconcile = await app.request("/__dev/reconcile", {}, { ...env, AUTH_DEV_LOGIN: undefined });
    expect(reconcile.status).toBe(404);
  });
});
