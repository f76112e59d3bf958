import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { wallet } from "../../worker/wallet/client";
import { reconcile } from "../../worker/wallet/reconcile";

describe("reconcile", () => {
  it("is ok for a wallet whose ledger matches, and reports a planted row", async () => {
    const w = wallet(env, "acc_reconcile_a");
    await w.grant({ key: "g1", source: "free", amount: 10, description: "Free tokens" });
    const r = await w.reserve({ key: "r1", amount: 3, ttlMs: 60_000 });
    if (!r.ok) throw new Error(r.code);
    await w.settle({ holdId: r.holdId, amount: 2, description: "Usage" });
    expect(await reconcile(env)).toMatchObject({ ok: true, accounts: 1, mismatches: [] });

    await env.DB.prepare(
      `INSERT INTO ledger_entries (id, wallet_id, seq, type, amount, balance_after, description, created_at)
       VALUES ('txn_planted', 'acc_reconcile_a', 999, 'grant', 5, 13, 'planted', 0)`,
    ).run();
    expect(await reconcile(env)).toMatchObject({
      ok: false,
      mismatches: [{ accountId: "acc_reconcile_a", ledger: 13, wallet: 8 }],
    });
  });
});

describe("reconcile finds what went wrong", () => {
  async function busyWallet(id: string) {
    const w = wallet(env, id);
    await w.grant({ key: "g", source: "free", amount: 10, description: "Free tokens" });
    const r = await w.reserve({ key: "r", amount: 4, ttlMs: 60_000 });
    if (!r.ok) throw new Error(r.code);
    await w.settle({ holdId: r.holdId, amount: 4, description: "Usage" });
    return w;
  }
  const mine = (r: Awaited<ReturnType<typeof reconcile>>, id: string) =>
    r.mismatches.filter((m) => m.accountId === id);

  it("reports an entry deleted from D1", async () => {
    const w = await busyWallet("acc_reconcile_deleted");
    expect(mine(await reconcile(env), w.id)).toEqual([]);
    await env.DB.prepare("DELETE FROM ledger_entries WHERE wallet_id = ? AND seq = 2").bind(w.id).run();
    expect(mine(await reconcile(env), w.id)).toEqual([{ accountId: w.id, ledger: 10, wallet: 6 }]);
  });

  it("reports ledger rows of a wallet that does not know them", async () => {
    await env.DB.prepare(
      `INSERT INTO ledger_entries (id, wallet_id, seq, type, amount, balance_after, description, created_at)
       VALUES ('txn_orphan', 'acc_reconcile_orphan', 1, 'grant', 7, 7, 'orphan', 0)`,
    ).run();
    expect(mine(await reconcile(env), "acc_reconcile_orphan")).toEqual([
      { accountId: "acc_reconcile_orphan", ledger: 7, wallet: 0 },
    ]);
  });

  it("is not ok when a wallet cannot be reached, and says which", async () => {
    const w = await busyWallet("acc_reconcile_down");
    await w.stub.setFaults({ unavailable: true });
    const r = await reconcile(env);
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([{ accountId: w.id, message: expect.stringContaining("unavailable") }]);
    await w.stub.setFaults({ unavailable: false });
  });

  it("keeps agreeing while wallets change during the check", async () => {
    const w = await busyWallet("acc_reconcile_live");
    await w.grant({ key: "more", source: "purchase", amount: 500, description: "Pack" });
    const spending = Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const h = await w.reserve({ key: `live${i}`, amount: 1, ttlMs: 60_000 });
        if (h.ok) await w.settle({ holdId: h.holdId, amount: 1, description: "Usage" });
      }),
    );
    const checks = await Promise.all([reconcile(env), reconcile(env), reconcile(env)]);
    await spending;
    for (const r of checks) expect(mine(r, w.id)).toEqual([]);
  });
});
