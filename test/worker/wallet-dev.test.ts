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
