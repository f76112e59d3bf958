import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { wallet } from "../../worker/wallet/client";
import type { MemberArgs } from "../../worker/wallet/types";
import type { Wallet } from "../../worker/wallet/wallet";

/**
 * A team's shared wallet (docs/decisions/010): member limits are
 * enforced by the wallet object in the same transaction as the balance.
 */

let seq = 0;
const team = () => wallet(env, `team_w${++seq}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`);

async function funded(amount: number) {
  const w = team();
  const r = await w.grant({ key: "seed", source: "purchase", amount, description: "Team pack" });
  expect(r.ok).toBe(true);
  return w;
}

const member = (accountId: string, monthlyLimit: number | null): MemberArgs => ({ accountId, monthlyLimit });

async function charge(w: ReturnType<typeof team>, key: string, m: MemberArgs | undefined, amount = 1) {
  const hold = await w.reserve({ key, amount, ttlMs: 60_000, member: m });
  if (!hold.ok) return hold.code;
  const s = await w.settle({ holdId: hold.holdId, amount, description: "Usage" });
  return s.ok ? "charged" : s.code;
}

async function d1Ledger(walletId: string) {
  const { results } = await env.DB.prepare(
    "SELECT seq, type, amount, member_id AS memberId FROM ledger_entries WHERE wallet_id = ? ORDER BY seq",
  )
    .bind(walletId)
    .all<{ seq: number; type: string; amount: number; memberId: string | null }>();
  return { rows: results, sum: results.reduce((s, r) => s + r.amount, 0) };
}

function counts(xs: string[]) {
  const m: Record<string, number> = {};
  for (const x of xs) m[x] = (m[x] ?? 0) + 1;
  return m;
}

/** Sets the wallet's clock to `iso` (wallet time only; the test's own clock is untouched). */
async function clockAt(w: ReturnType<typeof team>, iso: string) {
  await w.stub.setFaults({ clockOffsetMs: Date.parse(iso) - Date.now() });
}

describe("member limits under concurrency", () => {
  it("a member with 7 left of their limit gets exactly 7 of 20 concurrent charges", async () => {
    const w = await funded(1_000);
    const alice = member("acc_alice", 10);
    expect(await charge(w, "before", alice, 3)).toBe("charged");

    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => charge(w, `r${i}`, alice)));
    expect(counts(outcomes)).toEqual({ charged: 7, member_limit_reached: 13 });

    const spend = await w.memberSpend();
    expect(spend.members).toEqual([{ accountId: "acc_alice", spent: 10, held: 0 }]);
    expect(await w.balance()).toMatchObject({ available: 990, held: 0, balance: 990, used: 10 });
    const ledger = await d1Ledger(w.id);
    expect(ledger.sum).toBe(990);
    expect(ledger.rows.filter((r) => r.type === "usage").every((r) => r.memberId === "acc_alice")).toBe(true);
  });

  it("a pool of 25 gives exactly 25 of 50 concurrent charges from 5 members, none over their limit", async () => {
    const w = await funded(25);
    const members = [
      member("acc_m1", 4),
      member("acc_m2", 6),
      member("acc_m3", 8),
      member("acc_m4", null),
      member("acc_m5", 10),
    ];
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const m = members[i % 5] as MemberArgs;
        return { who: m.accountId, outcome: await charge(w, `r${i}`, m) };
      }),
    );
    expect(outcomes.filter((o) => o.outcome === "charged")).toHaveLength(25);
    expect(
      outcomes.every((o) => ["charged", "insufficient_tokens", "member_limit_reached"].includes(o.outcome)),
    ).toBe(true);
    for (const m of members) {
      const mine = outcomes.filter((o) => o.who === m.accountId && o.outcome === "charged").length;
      if (m.monthlyLimit !== null) expect(mine).toBeLessThanOrEqual(m.monthlyLimit);
    }

    const spend = await w.memberSpend();
    expect(spend.members.reduce((n, m) => n + m.spent, 0)).toBe(25);
    for (const s of spend.members) {
      const limit = members.find((m) => m.accountId === s.accountId)?.monthlyLimit ?? null;
      if (limit !== null) expect(s.spent).toBeLessThanOrEqual(limit);
      expect(s.held).toBe(0);
    }
    expect(await w.balance()).toMatchObject({ available: 0, held: 0, balance: 0, used: 25 });
    const ledger = await d1Ledger(w.id);
    expect(ledger.sum).toBe(0);
    expect(ledger.rows.filter((r) => r.type === "usage")).toHaveLength(25);
  });
});

describe("what counts toward a limit", () => {
  it("an open hold counts; a voided hold, the unburned part of a settle and an expired hold give it back", async () => {
    const w = await funded(100);
    const bob = member("acc_bob", 5);
    const first = await w.reserve({ key: "a", amount: 5, ttlMs: 60_000, member: bob });
    if (!first.ok) throw new Error(first.code);
    const refused = await w.reserve({ key: "b", amount: 1, ttlMs: 60_000, member: bob });
    expect(refused).toMatchObject({
      ok: false,
      code: "member_limit_reached",
      limit: 5,
      spent: 0,
      held: 5,
      tokens: { available: 95, held: 5 },
    });

    await w.void(first.holdId);
    const second = await w.reserve({ key: "c", amount: 5, ttlMs: 60_000, member: bob });
    if (!second.ok) throw new Error(second.code);
    // Settled below the hold: 2 burned, 3 back to the pool and to Bob's limit.
    expect(await w.settle({ holdId: second.holdId, amount: 2, description: "Usage" })).toMatchObject({
      ok: true,
    });
    expect(await w.memberSpend({ accountIds: ["acc_bob"] })).toMatchObject({
      members: [{ accountId: "acc_bob", spent: 2, held: 0 }],
    });

    const third = await w.reserve({ key: "d", amount: 3, ttlMs: 1_000, member: bob });
    expect(third.ok).toBe(true);
    expect(await w.reserve({ key: "e", amount: 1, ttlMs: 60_000, member: bob })).toMatchObject({
      code: "member_limit_reached",
      spent: 2,
      held: 3,
    });
    // Past its deadline the hold can no longer settle, so it counts nothing.
    await w.stub.setFaults({ clockOffsetMs: 2_000 });
    expect(await w.reserve({ key: "f", amount: 3, ttlMs: 60_000, member: bob })).toMatchObject({ ok: true });
    await w.stub.setFaults({ clockOffsetMs: 0 });
  });

  it("another member's spend and a member with no limit do not touch a member's limit", async () => {
    const w = await funded(100);
    expect(await charge(w, "a", member("acc_big", null), 60)).toBe("charged");
    expect(await charge(w, "b", member("acc_small", 3), 3)).toBe("charged");
    expect(await charge(w, "c", member("acc_small", 3), 1)).toBe("member_limit_reached");
    // A raised limit applies at once: the limit travels with each request.
    expect(await charge(w, "d", member("acc_small", 4), 1)).toBe("charged");
    // Spending without a member (the team's own, e.g. an admin) counts for nobody.
    expect(await charge(w, "e", undefined, 10)).toBe("charged");
    const spend = await w.memberSpend();
    expect(spend.members).toEqual([
      { accountId: "acc_big", spent: 60, held: 0 },
      { accountId: "acc_small", spent: 4, held: 0 },
    ]);
    expect((await w.memberSpend({ accountIds: ["acc_small", "acc_none"] })).members).toEqual([
      { accountId: "acc_small", spent: 4, held: 0 },
    ]);
  });

  it("a replayed reserve holds once and counts once", async () => {
    const w = await funded(100);
    const carol = member("acc_carol", 4);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => w.reserve({ key: "same", amount: 3, ttlMs: 60_000, member: carol })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(new Set(results.map((r) => (r.ok ? r.holdId : null))).size).toBe(1);
    // A retry after the member's limit changed is still the same request.
    const retried = await w.reserve({
      key: "same",
      amount: 3,
      ttlMs: 60_000,
      member: member("acc_carol", 3),
    });
    expect(retried).toMatchObject({ ok: true, replayed: true, holdId: results[0]?.ok && results[0].holdId });
    expect(
      await w.reserve({ key: "same", amount: 3, ttlMs: 60_000, member: member("acc_dave", 4) }),
    ).toMatchObject({
      code: "idempotency_conflict",
    });
    expect((await w.memberSpend()).members).toEqual([{ accountId: "acc_carol", spent: 0, held: 3 }]);
  });

  it("refuses a bad member and changes nothing", async () => {
    const w = await funded(10);
    for (const bad of [
      { accountId: "", monthlyLimit: 5 },
      { accountId: "acc_x", monthlyLimit: -1 },
      { accountId: "acc_x", monthlyLimit: 1.5 },
    ]) {
      expect(
        await w.reserve({ key: `k${JSON.stringify(bad)}`, amount: 1, ttlMs: 60_000, member: bad }),
      ).toMatchObject({ ok: false, code: "invalid_request" });
    }
    // Without a limit the wallet's own members decide (access.ts): a stranger is not one.
    expect(
      await w.reserve({ key: "stranger", amount: 1, ttlMs: 60_000, member: { accountId: "acc_x" } }),
    ).toMatchObject({ ok: false, code: "not_a_member" });
    expect(await w.balance()).toMatchObject({ available: 10, held: 0 });
    expect((await w.memberSpend()).members).toEqual([]);
  });
});

describe("the month", () => {
  it("resets the limit at the start of the next UTC month; a hold settled there counts there", async () => {
    const w = await funded(100);
    const dan = member("acc_dan", 5);
    await clockAt(w, "2027-01-31T23:58:00.000Z");
    expect(await charge(w, "jan1", dan, 4)).toBe("charged");
    const late = await w.reserve({ key: "jan2", amount: 1, ttlMs: 3_600_000, member: dan });
    if (!late.ok) throw new Error(late.code);
    expect(await w.reserve({ key: "jan3", amount: 1, ttlMs: 60_000, member: dan })).toMatchObject({
      code: "member_limit_reached",
      limit: 5,
      spent: 4,
      held: 1,
      resetsAt: "2027-02-01T00:00:00.000Z",
    });
    expect(await w.memberSpend()).toMatchObject({
      periodStart: "2027-01-01T00:00:00.000Z",
      resetsAt: "2027-02-01T00:00:00.000Z",
      members: [{ accountId: "acc_dan", spent: 4, held: 1 }],
    });

    await clockAt(w, "2027-02-01T00:00:30.000Z");
    // The January hold settles in February: it counts toward February.
    expect(await w.settle({ holdId: late.holdId, amount: 1, description: "Usage" })).toMatchObject({
      ok: true,
    });
    expect(await charge(w, "feb1", dan, 4)).toBe("charged");
    expect(await charge(w, "feb2", dan, 1)).toBe("member_limit_reached");
    expect(await w.memberSpend()).toMatchObject({
      periodStart: "2027-02-01T00:00:00.000Z",
      resetsAt: "2027-03-01T00:00:00.000Z",
      members: [{ accountId: "acc_dan", spent: 5, held: 0 }],
    });
    await w.stub.setFaults({ clockOffsetMs: 0 });

    const history = await w.history();
    expect(history.filter((e) => e.type === "usage").map((e) => e.memberId)).toEqual([
      "acc_dan",
      "acc_dan",
      "acc_dan",
    ]);
    expect((await d1Ledger(w.id)).sum).toBe((await w.balance()).balance);
  });
});

describe("upgrade in place", () => {
  it("a wallet made before team support keeps its open hold and takes member charges after the upgrade", async () => {
    const w = await funded(10);
    const old = await w.reserve({ key: "old", amount: 2, ttlMs: 60_000 });
    if (!old.ok) throw new Error(old.code);
    // Back to the object's schema version 3, as a wallet deployed before this one.
    await runInDurableObject(w.stub, (_: Wallet, state) => {
      state.storage.sql.exec(`DROP INDEX holds_member_open; DROP TABLE member_spend;
        ALTER TABLE holds DROP COLUMN member_id; ALTER TABLE entries DROP COLUMN member_id;
        ALTER TABLE entries DROP COLUMN generation;
        DROP TABLE debts; DROP TABLE owner_state; DROP TABLE sessions; DROP TABLE members;
        DROP TABLE generations; DROP TABLE rate_limits;
        DROP INDEX holds_reserve_key; ALTER TABLE holds DROP COLUMN reserve_key;
        ALTER TABLE holds DROP COLUMN reserve_fingerprint; ALTER TABLE holds DROP COLUMN settle_fingerprint;
        ALTER TABLE holds DROP COLUMN settle_result; ALTER TABLE flush_stats DROP COLUMN synced_seq;
        ALTER TABLE entries ADD COLUMN synced INTEGER NOT NULL DEFAULT 1;
        CREATE INDEX entries_unsynced ON entries (synced, seq);
        UPDATE meta SET v = '3' WHERE k = 'schema_version';`);
    });
    await evictDurableObject(w.stub);

    expect(await w.settle({ holdId: old.holdId, amount: 2, description: "Usage" })).toMatchObject({
      ok: true,
    });
    expect(await charge(w, "new", member("acc_erin", 3), 3)).toBe("charged");
    expect(await charge(w, "over", member("acc_erin", 3), 1)).toBe("member_limit_reached");
    expect((await w.history()).filter((e) => e.type === "usage").map((e) => e.memberId)).toEqual([
      "acc_erin",
      null,
    ]);
    expect((await d1Ledger(w.id)).sum).toBe(5);
  });
});
