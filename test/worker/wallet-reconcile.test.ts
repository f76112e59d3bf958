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
