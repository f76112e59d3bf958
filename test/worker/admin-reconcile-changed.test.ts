import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { wallet } from "../../worker/wallet/client";
import { reconcile } from "../../worker/wallet/reconcile";
import { adminFetch, adminJson } from "./admin-helpers";

// One D1 for the whole file: each test builds on the wallets the earlier ones verified.

async function busyWallet(id: string) {
  const w = wallet(env, id);
  await w.grant({ key: "g", source: "free", amount: 10, description: "Free tokens" });
  const r = await w.reserve({ key: "r", amount: 4, ttlMs: 60_000 });
  if (!r.ok) throw new Error(r.code);
  await w.settle({ holdId: r.holdId, amount: 3, description: "Usage" });
  return w;
}

const plant = (walletId: string, seq: number, amount: number) =>
  env.DB.prepare(
    `INSERT INTO ledger_entries (id, wallet_id, seq, type, amount, balance_after, description, created_at)
     VALUES (?1, ?2, ?3, 'grant', ?4, 0, 'planted', 0)`,
  )
    .bind(`txn_planted_${walletId}_${seq}`, walletId, seq, amount)
    .run();

const mine = (r: Awaited<ReturnType<typeof reconcile>>, ...ids: string[]) =>
  r.mismatches.filter((m) => ids.includes(m.accountId)).map((m) => m.accountId);

describe("reconcile in proportion to change", () => {
  it("checks a wallet again only once D1's side of it has changed", async () => {
    const ws = await Promise.all(["acc_changed_a", "acc_changed_b", "acc_changed_c"].map(busyWallet));
    const first = await reconcile(env, { sample: 0 });
    expect(first).toMatchObject({ ok: true, full: false, changed: 3, sampled: 0, accounts: 3 });
    expect(await reconcile(env, { sample: 0 })).toMatchObject({ ok: true, changed: 0, accounts: 0 });

    await ws[1]?.grant({ key: "more", source: "purchase", amount: 5, description: "Pack" });
    expect(await reconcile(env, { sample: 0 })).toMatchObject({ ok: true, changed: 1, accounts: 1 });
    expect(await reconcile(env, { sample: 0 })).toMatchObject({ ok: true, changed: 0 });
  });

  it("keeps agreeing as a verified wallet grows, adding only its new entries each time", async () => {
    const w = await busyWallet("acc_changed_growing");
    for (let round = 0; round < 4; round++) {
      const h = await w.reserve({ key: `grow${round}`, amount: 1, ttlMs: 60_000 });
      if (!h.ok) throw new Error(h.code);
      await w.settle({ holdId: h.holdId, amount: 1, description: "Usage" });
      expect(await reconcile(env, { sample: 0 })).toMatchObject({ ok: true, changed: 1 });
    }
    // An old entry edited after all those clean checks: the next one sums everything again.
    await env.DB.prepare("UPDATE ledger_entries SET amount = amount - 1 WHERE wallet_id = ? AND seq = 1")
      .bind(w.id)
      .run();
    expect(mine(await reconcile(env, { sample: 0 }), w.id)).toEqual([w.id]);
    await env.DB.prepare("UPDATE ledger_entries SET amount = amount + 1 WHERE wallet_id = ? AND seq = 1")
      .bind(w.id)
      .run();
    expect(mine(await reconcile(env, { sample: 0 }), w.id)).toEqual([]);
  });

  it("finds a row planted in, edited in or deleted from a wallet it had already verified", async () => {
    expect(await reconcile(env, { sample: 0 })).toMatchObject({ ok: true, changed: 0 });
    await plant("acc_changed_a", 99, 50);
    await env.DB.prepare("UPDATE ledger_entries SET amount = amount + 1 WHERE wallet_id = ? AND seq = 1")
      .bind("acc_changed_b")
      .run();
    await env.DB.prepare("DELETE FROM ledger_entries WHERE wallet_id = ? AND seq = 2")
      .bind("acc_changed_c")
      .run();

    const r = await reconcile(env, { sample: 0 });
    expect(r.ok).toBe(false);
    expect(r.changed).toBe(3);
    expect(mine(r, "acc_changed_a", "acc_changed_b", "acc_changed_c").sort()).toEqual([
      "acc_changed_a",
      "acc_changed_b",
      "acc_changed_c",
    ]);
    // A wallet that failed stays in the changed set until it is put right.
    expect(mine(await reconcile(env, { sample: 0 }), "acc_changed_a")).toEqual(["acc_changed_a"]);
  });

  it("covers team wallets like accounts'", async () => {
    const team = await busyWallet("team_changed000000001");
    expect(await reconcile(env, { sample: 0 })).toMatchObject({ changed: 4 });
    await plant(team.id, 42, 7);
    expect(mine(await reconcile(env, { sample: 0 }), team.id)).toEqual([team.id]);
  });

  it("re-checks clean wallets in a rotating sample, so drift the marks missed is found", async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `acc_sampled_${i}`);
    await Promise.all(ids.map(busyWallet));
    await reconcile(env, { sample: 0 });
    // A wrong row D1 took without marking the wallet (as if its triggers had been off).
    await plant("acc_sampled_4", 77, 9);
    await env.DB.prepare("UPDATE wallet_checks SET dirty = 0 WHERE wallet_id = ?")
      .bind("acc_sampled_4")
      .run();
    expect(mine(await reconcile(env, { sample: 0 }), "acc_sampled_4")).toEqual([]);

    const clean = await env.DB.prepare(
      "SELECT count(*) AS n FROM wallet_checks WHERE dirty = 0",
    ).first<number>("n");
    let found = 0;
    for (let run = 0; run < Math.ceil((clean ?? 0) / 2) && !found; run++) {
      const r = await reconcile(env, { sample: 2 });
      expect(r.sampled).toBe(2);
      found += mine(r, "acc_sampled_4").length;
    }
    expect(found).toBe(1);
    // Found once, it is marked, so every run reports it from then on.
    expect(mine(await reconcile(env, { sample: 0 }), "acc_sampled_4")).toEqual(["acc_sampled_4"]);
  });

  it("checks every wallet on demand with ?full=1", async () => {
    const total = await env.DB.prepare("SELECT count(*) AS n FROM wallet_checks").first<number>("n");
    const r = await adminJson<{ full: boolean; accounts: number; mismatches: { accountId: string }[] }>(
      "/admin/reconcile?full=1",
    );
    expect(r.full).toBe(true);
    expect(r.accounts).toBe(total);
    expect(r.mismatches.map((m) => m.accountId).sort()).toEqual(
      ["acc_changed_a", "acc_changed_b", "acc_changed_c", "acc_sampled_4", "team_changed000000001"].sort(),
    );
    expect((await adminFetch("/admin/reconcile?full=yes")).status).toBe(400);
    expect((await adminFetch("/admin/reconcile?sample=-1")).status).toBe(400);
  });
});
