import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { wallet } from "../../worker/wallet/client";

/**
 * Debts (worker/wallet/debts.ts): what a debit with `owe` could not take
 * because generations held it is taken from those tokens in the very
 * transaction that releases them, so they are never spendable in between.
 */
const fresh = () => wallet(env, `acc_debt_${crypto.randomUUID().slice(0, 12)}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function funded(amount: number) {
  const w = fresh();
  const g = await w.grant({ key: "seed", source: "purchase", amount, description: "Pack" });
  if (!g.ok) throw new Error(g.code);
  return { w, grantId: g.grantId };
}

async function hold(w: ReturnType<typeof fresh>, key: string, amount: number, ttlMs = 60_000) {
  const h = await w.reserve({ key, amount, ttlMs });
  if (!h.ok) throw new Error(h.code);
  return h.holdId;
}

const refund = (grantIds: string[], amount = 100, key = "stripe:evt_1") => ({
  key,
  amount,
  type: "refund" as const,
  description: "Payment refunded: unspent tokens removed",
  partial: true,
  grantIds,
  owe: true,
});

/** Ledger sum = balance, in the wallet and in D1 (the payments reach D1 through the outbox). */
async function expectBooksBalance(w: ReturnType<typeof fresh>) {
  const tokens = await w.balance();
  const entries = await w.history({ limit: 500 });
  expect(entries.reduce((n, e) => n + e.amount, 0)).toBe(tokens.balance);
  const d1 = await env.DB.prepare(
    "SELECT coalesce(sum(amount), 0) AS n FROM ledger_entries WHERE wallet_id = ?",
  )
    .bind(w.id)
    .first<{ n: number }>();
  expect(d1?.n).toBe(tokens.balance);
  return tokens;
}

describe("a debit while a hold is open leaves a debt the hold pays as it ends", () => {
  it("a void pays it at once and exactly: the released tokens are never spendable", async () => {
    const { w, grantId } = await funded(100);
    const h = await hold(w, "gen", 40);
    const debit = await w.debit(refund([grantId]));
    expect(debit).toMatchObject({ ok: true, debited: 60, owed: 40, tokens: { available: 0, held: 40 } });
    expect(await w.debts(["stripe:evt_1"])).toEqual([
      { key: "stripe:evt_1", amount: 40, paid: 0, open: true },
    ]);

    expect(await w.void(h)).toMatchObject({ ok: true, tokens: { available: 0, held: 0, balance: 0 } });
    expect(await w.debts(["stripe:evt_1"])).toEqual([
      { key: "stripe:evt_1", amount: 40, paid: 40, open: false },
    ]);
    const [payment] = await w.history({ limit: 1 });
    expect(payment).toMatchObject({ type: "refund", amount: -40, balanceAfter: 0 });
    expect(await w.reserve({ key: "again", amount: 1, ttlMs: 60_000 })).toMatchObject({
      ok: false,
      code: "insufficient_tokens",
    });
    await expectBooksBalance(w);
  });

  it("a settle below the hold pays it from what comes back; what was burned is not owed any more", async () => {
    const { w, grantId } = await funded(100);
    const h = await hold(w, "gen", 40);
    await w.debit(refund([grantId]));
    const settled = await w.settle({ holdId: h, amount: 15, description: "Usage" });
    expect(settled).toMatchObject({ ok: true, charged: 15, tokens: { available: 0, held: 0, balance: 0 } });
    // 25 came back and paid the debt; the other 15 were spent, so the debt closes.
    expect(await w.debts(["stripe:evt_1"])).toEqual([
      { key: "stripe:evt_1", amount: 40, paid: 25, open: false },
    ]);
    await expectBooksBalance(w);
  });

  it("an expired hold pays it when the alarm releases the hold", async () => {
    const { w, grantId } = await funded(100);
    await hold(w, "gen", 30, 1_000);
    await w.debit(refund([grantId]));
    await sleep(1_100);
    await runDurableObjectAlarm(w.stub);
    expect(await w.balance()).toMatchObject({ available: 0, held: 0, balance: 0 });
    expect(await w.debts(["stripe:evt_1"])).toEqual([
      { key: "stripe:evt_1", amount: 30, paid: 30, open: false },
    ]);
    await expectBooksBalance(w);
  });

  it("owes only what holds keep of its own grants, and only they pay it", async () => {
    const w = fresh();
    const a = await w.grant({ key: "a", source: "purchase", amount: 10, description: "Pack A" });
    const b = await w.grant({ key: "b", source: "free", amount: 50, description: "Free" });
    if (!a.ok || !b.ok) throw new Error("grant");
    // Free tokens burn first: the first hold takes all 50 of them, the second A's 10.
    const onFree = await hold(w, "gen-free", 50);
    const onA = await hold(w, "gen-a", 10);
    const debit = await w.debit(refund([a.grantId], 25));
    expect(debit).toMatchObject({ ok: true, debited: 0, owed: 10 });
    await w.void(onFree);
    expect(await w.balance()).toMatchObject({ available: 50, held: 10 });
    await w.void(onA);
    expect(await w.balance()).toMatchObject({ available: 50, held: 0, balance: 50 });
    expect(await w.debts(["stripe:evt_1"])).toEqual([
      { key: "stripe:evt_1", amount: 10, paid: 10, open: false },
    ]);
    await expectBooksBalance(w);
  });

  it("without `owe` nothing is owed (the debit takes what is free, as before)", async () => {
    const { w, grantId } = await funded(100);
    const h = await hold(w, "gen", 40);
    const { owe: _, ...plain } = refund([grantId]);
    expect(await w.debit(plain)).toMatchObject({ ok: true, debited: 60, owed: 0 });
    await w.void(h);
    expect(await w.balance()).toMatchObject({ available: 40 });
    expect(await w.debts(["stripe:evt_1"])).toEqual([]);
  });
});

describe("debts under concurrency and retries", () => {
  it("many holds released at once pay exactly what is owed, never more", async () => {
    const { w, grantId } = await funded(200);
    const holds = await Promise.all(Array.from({ length: 20 }, (_, i) => hold(w, `gen-${i}`, 10)));
    // 200 held: the debit takes nothing now and owes 150.
    expect(await w.debit(refund([grantId], 150))).toMatchObject({ ok: true, debited: 0, owed: 150 });
    const ends = await Promise.all(
      holds.map((h, i) =>
        i % 2 === 0 ? w.void(h) : w.settle({ holdId: h, amount: 3, description: "Usage" }),
      ),
    );
    expect(ends.every((e) => e.ok)).toBe(true);
    // 10 settled at 3: 30 burned, 170 came back, 150 of them paid the debt.
    expect(await w.balance()).toMatchObject({ available: 20, held: 0, balance: 20, used: 30 });
    expect(await w.debts(["stripe:evt_1"])).toEqual([
      { key: "stripe:evt_1", amount: 150, paid: 150, open: false },
    ]);
    await expectBooksBalance(w);
  });

  it("spending while the debt is open cannot take what a released hold gives back", async () => {
    const { w, grantId } = await funded(100);
    const holds = await Promise.all(Array.from({ length: 10 }, (_, i) => hold(w, `gen-${i}`, 10)));
    await w.debit(refund([grantId], 100));
    const raced = await Promise.all(
      holds.flatMap((h, i) => [w.void(h), w.reserve({ key: `thief-${i}`, amount: 10, ttlMs: 60_000 })]),
    );
    expect(raced.filter((r) => "holdId" in r && r.ok)).toEqual([]);
    expect(await w.balance()).toMatchObject({ available: 0, held: 0, balance: 0 });
    await expectBooksBalance(w);
  });

  it("a retried debit leaves one debt, and a debt is paid at most its amount", async () => {
    const { w, grantId } = await funded(100);
    const h1 = await hold(w, "gen-1", 30);
    const h2 = await hold(w, "gen-2", 30);
    const first = await w.debit(refund([grantId], 60));
    const again = await Promise.all([w.debit(refund([grantId], 60)), w.debit(refund([grantId], 60))]);
    expect(first).toMatchObject({ debited: 40, owed: 20 });
    for (const r of again) expect(r).toMatchObject({ ok: true, replayed: true, debited: 40, owed: 20 });
    await w.void(h1);
    await w.void(h1); // a retried void changes nothing
    expect(await w.balance()).toMatchObject({ available: 10, held: 30 });
    await w.void(h2);
    expect(await w.balance()).toMatchObject({ available: 40, held: 0, balance: 40 });
    expect(await w.debts(["stripe:evt_1"])).toEqual([
      { key: "stripe:evt_1", amount: 20, paid: 20, open: false },
    ]);
    // A retry after it was paid replays: it takes nothing more and owes nothing new.
    expect(await w.debit(refund([grantId], 60))).toMatchObject({ replayed: true, tokens: { available: 40 } });
    await expectBooksBalance(w);
  });

  it("two debts are paid oldest first, and together never more than what came back", async () => {
    const { w, grantId } = await funded(50);
    const h = await hold(w, "gen", 50);
    await w.debit(refund([grantId], 30, "stripe:evt_a"));
    await w.debit(refund([grantId], 30, "stripe:evt_b"));
    await w.settle({ holdId: h, amount: 10, description: "Usage" });
    expect(await w.balance()).toMatchObject({ available: 0, held: 0, balance: 0 });
    expect(await w.debts(["stripe:evt_a", "stripe:evt_b"])).toEqual(
      expect.arrayContaining([
        { key: "stripe:evt_a", amount: 30, paid: 30, open: false },
        { key: "stripe:evt_b", amount: 30, paid: 10, open: false },
      ]),
    );
    await expectBooksBalance(w);
  });
});
