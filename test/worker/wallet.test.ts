import {
  abortAllDurableObjects,
  env,
  evictDurableObject,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { wallet } from "../../worker/wallet/client";
import { GRANT_MIRROR_MS } from "../../worker/wallet/mirror";
import { reconcile } from "../../worker/wallet/reconcile";
import type { Tokens } from "../../worker/wallet/types";
import type { Wallet } from "../../worker/wallet/wallet";
import { record } from "./content-helpers";

let seq = 0;
/** The wallet's clock past its next grant mirror refresh, and the alarm's sweep run. */
async function mirrorRefreshed(w: ReturnType<typeof wallet>) {
  await w.stub.setFaults({ clockOffsetMs: GRANT_MIRROR_MS });
  await w.sweep();
  await w.stub.setFaults({ clockOffsetMs: 0 });
}

const fresh = () => wallet(env, `acc_w${++seq}_${crypto.randomUUID().slice(0, 8)}`);
const HOUR = 3_600_000;
/** Object schema v11 → v10: reserve and settle records back from the hold rows into `ops`. */
/** Back to schema version 10 (records in `ops`), by way of 11 (entries without a carried generation). */
const HOLD_RECORDS_BACK_TO_OPS = `
  ALTER TABLE entries DROP COLUMN generation;
  INSERT INTO ops SELECT 'reserve:' || reserve_key, reserve_fingerprint,
    json_object('ok', json('true'), 'holdId', id, 'held', amount,
      'deadline', strftime('%Y-%m-%dT%H:%M:%fZ', deadline / 1000.0, 'unixepoch')), created_at
    FROM holds WHERE reserve_key IS NOT NULL;
  INSERT INTO ops SELECT 'settle:' || id, settle_fingerprint, settle_result, created_at
    FROM holds WHERE settle_fingerprint IS NOT NULL;
  DROP INDEX holds_reserve_key; ALTER TABLE holds DROP COLUMN reserve_key;
  ALTER TABLE holds DROP COLUMN reserve_fingerprint; ALTER TABLE holds DROP COLUMN settle_fingerprint;
  ALTER TABLE holds DROP COLUMN settle_result;`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function funded(amount: number, extra: { source?: "free" | "purchase"; expiresAt?: number } = {}) {
  const w = fresh();
  const r = await w.grant({
    key: "seed",
    source: extra.source ?? "free",
    amount,
    expiresAt: extra.expiresAt,
    description: "Seed",
  });
  expect(r.ok).toBe(true);
  return w;
}

async function d1Ledger(walletId: string) {
  const { results } = await env.DB.prepare(
    "SELECT seq, type, amount, balance_after AS balanceAfter FROM ledger_entries WHERE wallet_id = ? ORDER BY seq",
  )
    .bind(walletId)
    .all<{ seq: number; type: string; amount: number; balanceAfter: number }>();
  return { rows: results, sum: results.reduce((s, r) => s + r.amount, 0) };
}

async function charge(w: ReturnType<typeof fresh>, key: string, amount = 1) {
  const hold = await w.reserve({ key, amount, ttlMs: 60_000 });
  if (!hold.ok) return hold.code;
  const s = await w.settle({ holdId: hold.holdId, amount, description: "Usage" });
  return s.ok ? "charged" : s.code;
}

/** A hold the test builds on: a refusal fails the test right here. */
async function reserved(w: ReturnType<typeof fresh>, key: string, amount: number, ttlMs = 60_000) {
  const hold = await w.reserve({ key, amount, ttlMs });
  if (!hold.ok) throw new Error(hold.code);
  return hold;
}

function counts(xs: string[]) {
  const m: Record<string, number> = {};
  for (const x of xs) m[x] = (m[x] ?? 0) + 1;
  return m;
}

describe("concurrency", () => {
  it("200 concurrent reserve+settle of 1 against 100 tokens: exactly 100 succeed, balance 0", async () => {
    const w = await funded(100);
    const seen: Tokens[] = [];
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const hold = await w.reserve({ key: `r${i}`, amount: 1, ttlMs: 60_000 });
        seen.push(hold.tokens);
        if (!hold.ok) return hold.code;
        const s = await w.settle({ holdId: hold.holdId, amount: 1, description: "Usage" });
        seen.push(s.tokens);
        return s.ok ? "charged" : s.code;
      }),
    );
    expect(counts(outcomes)).toEqual({ charged: 100, insufficient_tokens: 100 });
    expect(seen.every((t) => t.available >= 0 && t.held >= 0)).toBe(true);
    expect(await w.balance()).toMatchObject({ available: 0, held: 0, balance: 0, used: 100 });

    // Read before anything flushes again: every caller waited for the batch
    // holding its own entry, so D1 already has every entry.
    const ledger = await d1Ledger(w.id);
    expect(ledger.rows).toHaveLength(101); // the grant and 100 usages, nothing for refused reserves
    expect(ledger.sum).toBe(0);
    expect(ledger.rows.every((r) => r.balanceAfter >= 0)).toBe(true);
    expect(ledger.rows.map((r) => r.seq)).toEqual(Array.from({ length: 101 }, (_, i) => i + 1));
    // The grant mirror follows at its next refresh (at most once a minute).
    await mirrorRefreshed(w);
    const mirror = await env.DB.prepare("SELECT sum(remaining) AS n FROM grants WHERE wallet_id = ?")
      .bind(w.id)
      .first<{ n: number }>();
    expect(mirror?.n).toBe(0);
    expect((await reconcile(env)).mismatches.filter((m) => m.accountId === w.id)).toEqual([]);
  });

  it("settles a 2-grant hold partly, burning the soonest-expiring grant first", async () => {
    const w = fresh();
    await w.grant({ key: "a", source: "purchase", amount: 3, description: "Pack" });
    await w.grant({
      key: "b",
      source: "promo",
      amount: 2,
      expiresAt: Date.now() + HOUR,
      description: "Promo",
    });
    const hold = await reserved(w, "h", 4);
    expect(hold.tokens).toMatchObject({ available: 1, held: 4, balance: 5 });
    const s = await w.settle({ holdId: hold.holdId, amount: 3, description: "Usage" });
    expect(s.tokens).toMatchObject({ available: 2, held: 0, balance: 2, used: 3, purchased: 3 });
    expect(s.tokens.grants).toEqual([expect.objectContaining({ source: "purchase", remaining: 2 })]);
    await mirrorRefreshed(w);
    const { results } = await env.DB.prepare(
      "SELECT source, remaining FROM grants WHERE wallet_id = ? ORDER BY source",
    )
      .bind(w.id)
      .all();
    expect(results).toEqual([
      { source: "promo", remaining: 0 },
      { source: "purchase", remaining: 2 },
    ]);
  });
});

describe("idempotency", () => {
  it("the same grant key 10 times, one after another, grants once", async () => {
    const w = fresh();
    const rs = [];
    for (let i = 0; i < 10; i++) {
      rs.push(await w.grant({ key: "stripe:evt_1", source: "purchase", amount: 50, description: "Pack" }));
    }
    expect(rs.filter((r) => r.ok && !r.replayed)).toHaveLength(1);
    expect(new Set(rs.map((r) => (r.ok ? r.grantId : r.code))).size).toBe(1);
    expect(await w.balance()).toMatchObject({ available: 50, purchased: 50 });
    expect((await d1Ledger(w.id)).rows).toHaveLength(1);
  });

  it("a generation's hold is named after it, and a second reserve for it under another key is refused", async () => {
    const w = await funded(10);
    const generationId = "gen_00000000000000000000000001";
    const first = await w.reserve({ key: "gen-a", amount: 3, ttlMs: 60_000, generationId });
    expect(first).toMatchObject({ ok: true, holdId: "hld_00000000000000000000000001" });
    // The same key replays; another key for the same generation holds nothing more.
    expect(await w.reserve({ key: "gen-a", amount: 3, ttlMs: 60_000, generationId })).toMatchObject({
      ok: true,
      replayed: true,
    });
    expect(await w.reserve({ key: "gen-b", amount: 3, ttlMs: 60_000, generationId })).toMatchObject({
      ok: false,
      code: "idempotency_conflict",
    });
    expect(await w.balance()).toMatchObject({ available: 7, held: 3 });
  });

  it("the same reserve key 10 times concurrently holds once; 10 settles charge once", async () => {
    const w = await funded(10);
    const holds = await Promise.all(
      Array.from({ length: 10 }, () => w.reserve({ key: "gen-1", amount: 3, ttlMs: 60_000 })),
    );
    const ids = new Set(holds.map((h) => (h.ok ? h.holdId : h.code)));
    expect(ids.size).toBe(1);
    const holdId = [...ids][0] as string;
    expect(await w.balance()).toMatchObject({ available: 7, held: 3 });

    const settles = await Promise.all(
      Array.from({ length: 10 }, () => w.settle({ holdId, amount: 2, description: "Usage" })),
    );
    expect(settles.every((s) => s.ok && s.charged === 2)).toBe(true);
    expect(await w.balance()).toMatchObject({ available: 8, held: 0, used: 2 });
    expect((await d1Ledger(w.id)).sum).toBe(8);
  });

  it("the same key with other arguments is refused and changes nothing", async () => {
    const w = await funded(10);
    const first = await w.reserve({ key: "k", amount: 2, ttlMs: 60_000 });
    expect(first.ok).toBe(true);
    expect(await w.reserve({ key: "k", amount: 3, ttlMs: 60_000 })).toMatchObject({
      ok: false,
      code: "idempotency_conflict",
      tokens: { available: 8, held: 2 },
    });
    expect(await w.grant({ key: "seed", source: "free", amount: 11, description: "Seed" })).toMatchObject({
      code: "idempotency_conflict",
    });
    // One key per adjustment, whatever its sign.
    expect((await w.adjust({ key: "adm-1", amount: 5, reason: "Goodwill" })).ok).toBe(true);
    expect(await w.adjust({ key: "adm-1", amount: -5, reason: "Goodwill" })).toMatchObject({
      code: "idempotency_conflict",
    });
    expect(await w.balance()).toMatchObject({ available: 13, held: 2 });
  });

  it("does not remember a refusal: a reserve refused for want of tokens succeeds later under the same key", async () => {
    const w = await funded(1);
    expect(await w.reserve({ key: "k", amount: 2, ttlMs: 60_000 })).toMatchObject({
      code: "insufficient_tokens",
      required: 2,
      available: 1,
    });
    await w.grant({ key: "top-up", source: "purchase", amount: 5, description: "Pack" });
    expect(await w.reserve({ key: "k", amount: 2, ttlMs: 60_000 })).toMatchObject({ ok: true, held: 2 });
  });
});

describe("bad input changes nothing", () => {
  it("refuses non-integer, zero, negative and huge amounts and bad holds", async () => {
    const w = await funded(5);
    for (const amount of [0, -1, 1.5, Number.NaN, 2e9]) {
      expect(await w.reserve({ key: `a${amount}`, amount, ttlMs: 60_000 })).toMatchObject({
        code: "invalid_amount",
      });
      expect(await w.grant({ key: `g${amount}`, source: "free", amount, description: "x" })).toMatchObject({
        code: "invalid_amount",
      });
    }
    expect(await w.reserve({ key: "t", amount: 1, ttlMs: 0 })).toMatchObject({ code: "invalid_request" });
    expect(await w.grant({ key: "s", source: "gift" as "free", amount: 1, description: "x" })).toMatchObject({
      code: "invalid_request",
    });
    expect(await w.settle({ holdId: "hld_nope", amount: 1, description: "x" })).toMatchObject({
      code: "hold_not_found",
    });
    const hold = await reserved(w, "h", 2);
    expect(await w.settle({ holdId: hold.holdId, amount: 3, description: "x" })).toMatchObject({
      code: "invalid_amount",
      tokens: { available: 3, held: 2 },
    });
    // A generation carried to D1 must be named, and well formed.
    const carried = {
      accountId: "acc_member",
      sessionId: "ses_member",
      site: "jira",
      model: null,
      status: "succeeded" as const,
      latencyMs: 10,
      firstDeltaMs: 5,
      costUsd: null,
      startedAt: Date.now(),
    };
    expect(
      await w.settle({
        holdId: hold.holdId,
        amount: 1,
        description: "x",
        feature: "generate",
        generation: carried,
      }),
    ).toMatchObject({ code: "invalid_request" });
    expect(
      await w.settle({
        holdId: hold.holdId,
        amount: 1,
        description: "x",
        feature: "generate",
        generationId: "gen_x",
        generation: { ...carried, status: "failed" as "succeeded" },
      }),
    ).toMatchObject({ code: "invalid_request" });
    expect(await w.balance()).toMatchObject({ available: 3, held: 2, balance: 5 });
    expect((await d1Ledger(w.id)).rows).toHaveLength(1);
  });

  it("voiding releases once; voiding a settled hold keeps the charge and says so", async () => {
    const w = await funded(5);
    const a = await w.reserve({ key: "a", amount: 2, ttlMs: 60_000 });
    const b = await w.reserve({ key: "b", amount: 2, ttlMs: 60_000 });
    if (!a.ok || !b.ok) throw new Error("reserve");
    expect(await w.void(a.holdId)).toMatchObject({
      ok: true,
      status: "voided",
      tokens: { available: 3, held: 2 },
    });
    expect(await w.void(a.holdId)).toMatchObject({ ok: true, tokens: { available: 3 } });
    await w.settle({ holdId: b.holdId, amount: 2, description: "Usage" });
    expect(await w.void(b.holdId)).toMatchObject({
      ok: true,
      status: "settled",
      tokens: { available: 3, held: 0 },
    });
    expect(await w.settle({ holdId: a.holdId, amount: 1, description: "x" })).toMatchObject({
      code: "hold_closed",
    });
  });
});

describe("faults", () => {
  it("keeps the wallet right while D1 is down and catches the ledger up from the alarm", async () => {
    const w = await funded(10);
    await w.stub.setFaults({ d1: "down" });
    expect(await charge(w, "c1", 3)).toBe("charged");
    expect(await w.grant({ key: "g2", source: "promo", amount: 4, description: "Promo" })).toMatchObject({
      ok: true,
    });
    expect(await w.balance()).toMatchObject({ available: 11, balance: 11 });
    expect((await d1Ledger(w.id)).sum).toBe(10); // only the seed reached D1
    expect(await w.stats()).toMatchObject({ unsynced: 2 });

    // An in-flight outbox is not a mismatch.
    const during = await reconcile(env);
    expect(during.mismatches.filter((m) => m.accountId === w.id)).toEqual([]);
    expect(during.pending).toBeGreaterThanOrEqual(2);

    // The alarm is set to retry, and the retry delivers once D1 is back.
    const alarm = await runInDurableObject(w.stub, (_: Wallet, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm as number).toBeLessThanOrEqual(Date.now() + 5_000);
    await w.stub.setFaults({ d1: "ok" });
    expect(await runDurableObjectAlarm(w.stub)).toBe(true);
    const ledger = await d1Ledger(w.id);
    expect(ledger.rows.map((r) => r.type)).toEqual(["grant", "usage", "promo"]);
    expect(ledger.sum).toBe(11);
    expect(await w.stats()).toMatchObject({ unsynced: 0 });
  });

  it("writes nothing twice when D1 commits but the acknowledgement is lost", async () => {
    const w = fresh();
    await w.stub.setFaults({ d1: "lose-ack" });
    await w.grant({ key: "g", source: "free", amount: 5, description: "Free" });
    expect(await charge(w, "c")).toBe("charged");
    await w.stub.setFaults({ d1: "ok" });
    await runDurableObjectAlarm(w.stub);
    const ledger = await d1Ledger(w.id);
    expect(ledger.rows.map((r) => r.seq)).toEqual([1, 2]);
    expect(ledger.sum).toBe(4);
    expect(await w.stats()).toMatchObject({ unsynced: 0 });
  });

  it("survives a restart between reserve and settle; the alarm releases the overdue hold", async () => {
    let w = await funded(5);
    const hold = await reserved(w, "gen", 2, 1_000);
    await evictDurableObject(w.stub); // a graceful restart…
    expect(await w.balance()).toMatchObject({ available: 3, held: 2, balance: 5 });
    await abortAllDurableObjects(); // …and a crash, after which old stubs are dead
    w = wallet(env, w.id);
    expect(await w.balance()).toMatchObject({ available: 3, held: 2, balance: 5 });
    const alarm = await runInDurableObject(w.stub, (_: Wallet, state) => state.storage.getAlarm());
    expect(alarm).toBe(Date.parse(hold.deadline));

    await sleep(1_100);
    await evictDurableObject(w.stub).catch(() => {}); // the alarm may have woken it already
    await runDurableObjectAlarm(w.stub); // runs it now unless workerd already has
    // balance() itself releases nothing: only the alarm (or a settle) closes a hold.
    expect(await w.balance()).toMatchObject({ available: 5, held: 0, balance: 5 });
    expect(await w.settle({ holdId: hold.holdId, amount: 2, description: "Late" })).toMatchObject({
      code: "hold_expired",
      tokens: { available: 5 },
    });
    expect((await d1Ledger(w.id)).rows).toHaveLength(1); // a release changes no balance: no entry
  });

  it("re-arms the alarm for the next deadline after releasing an overdue hold", async () => {
    const w = await funded(5);
    const soon = await w.reserve({ key: "soon", amount: 1, ttlMs: 1_000 });
    const later = await w.reserve({ key: "later", amount: 1, ttlMs: 60_000 });
    if (!soon.ok || !later.ok) throw new Error("reserve");
    await sleep(1_100);
    await runDurableObjectAlarm(w.stub); // runs it now unless workerd already has
    expect(await w.balance()).toMatchObject({ available: 4, held: 1 });
    const alarm = await runInDurableObject(w.stub, (_: Wallet, state) => state.storage.getAlarm());
    expect(alarm).toBe(Date.parse(later.deadline));
  });

  it("refuses a settle after the deadline even before the alarm runs, and releases the hold", async () => {
    const w = await funded(5);
    const hold = await reserved(w, "gen", 2, 1_000);
    await sleep(1_100);
    expect(await w.settle({ holdId: hold.holdId, amount: 1, description: "Late" })).toMatchObject({
      ok: false,
      code: "hold_expired",
      tokens: { available: 5, held: 0 },
    });
    expect(await w.balance()).toMatchObject({ used: 0, balance: 5 });
  });
});

describe("expiry and burn order", () => {
  it("burns soonest expiry first, then free before paid, then oldest", async () => {
    const w = fresh();
    const now = Date.now();
    await w.grant({ key: "free-old", source: "free", amount: 2, description: "a" });
    await w.grant({ key: "paid", source: "purchase", amount: 2, description: "b" });
    await w.grant({ key: "free-new", source: "welcome", amount: 2, description: "c" });
    await w.grant({
      key: "promo-2d",
      source: "promo",
      amount: 2,
      expiresAt: now + 48 * HOUR,
      description: "d",
    });
    await w.grant({
      key: "allow-1d",
      source: "allowance",
      amount: 2,
      expiresAt: now + 24 * HOUR,
      description: "e",
    });
    const order: string[] = [];
    for (let i = 0; i < 10; i++) {
      const before = (await w.balance()).grants;
      expect(await charge(w, `c${i}`)).toBe("charged");
      const after = (await w.balance()).grants;
      const drained = before.find((g) => (after.find((a) => a.id === g.id)?.remaining ?? 0) < g.remaining);
      order.push(drained?.source ?? "?");
    }
    expect(order).toEqual([
      "allowance",
      "allowance",
      "promo",
      "promo",
      "free",
      "free",
      "welcome",
      "welcome",
      "purchase",
      "purchase",
    ]);
    expect(await charge(w, "c10")).toBe("insufficient_tokens");
  });

  it("expires grants through the alarm with `expiry` entries, including tokens released from a hold", async () => {
    const w = fresh();
    await w.grant({ key: "keep", source: "purchase", amount: 4, description: "Pack" });
    await w.grant({
      key: "soon",
      source: "promo",
      amount: 3,
      expiresAt: Date.now() + 1_000,
      description: "Promo",
    });
    const hold = await reserved(w, "h", 2); // both from the promo grant
    await sleep(1_100);
    await runDurableObjectAlarm(w.stub); // runs it now unless workerd already has
    expect(await w.balance()).toMatchObject({ available: 4, held: 2, balance: 6 });
    await w.settle({ holdId: hold.holdId, amount: 1, description: "Usage" }); // releases 1 into an expired grant
    expect(await w.balance()).toMatchObject({ available: 4, held: 0, balance: 4, used: 1 });
    const ledger = await d1Ledger(w.id);
    expect(ledger.rows.map((r) => [r.type, r.amount])).toEqual([
      ["purchase", 4],
      ["promo", 3],
      ["expiry", -1],
      ["usage", -1],
      ["expiry", -1],
    ]);
    expect(ledger.sum).toBe(4);
  });

  it("expires at once a grant that arrives already expired", async () => {
    const w = fresh();
    await w.grant({
      key: "late",
      source: "promo",
      amount: 3,
      expiresAt: Date.now() - 1,
      description: "Promo",
    });
    expect(await w.balance()).toMatchObject({ available: 0, balance: 0 });
    expect((await d1Ledger(w.id)).rows.map((r) => r.type)).toEqual(["promo", "expiry"]);
  });
});

describe("transfer", () => {
  it("moves the available tokens exactly once, keeping their expiry, whatever the retries", async () => {
    const from = fresh();
    const to = fresh();
    const expiresAt = Date.now() + 24 * HOUR;
    await from.grant({ key: "free", source: "free", amount: 3, expiresAt, description: "Free" });
    await from.grant({ key: "promo", source: "promo", amount: 2, description: "Promo" });
    const args = { key: `merge:${from.id}`, to: to.id, description: "Tokens from your anonymous session" };
    const all = await Promise.all([from.transfer(args), from.transfer(args), from.transfer(args)]);
    expect(all.every((r) => r.ok && r.moved === 5)).toBe(true);
    expect(await from.transfer(args)).toMatchObject({ ok: true, moved: 5, replayed: true });
    expect(await from.transfer({ ...args, key: "another" })).toMatchObject({ ok: true, moved: 0 });

    expect(await from.balance()).toMatchObject({ available: 0, balance: 0 });
    const t = await to.balance();
    expect(t).toMatchObject({ available: 5, balance: 5 });
    expect(t.grants.map((g) => [g.source, g.remaining, g.expiresAt ?? null])).toEqual([
      ["transfer", 3, new Date(expiresAt).toISOString()],
      ["transfer", 2, null],
    ]);
    expect((await d1Ledger(from.id)).rows.map((r) => [r.type, r.amount])).toEqual([
      ["grant", 3],
      ["promo", 2],
      ["transfer_out", -5],
    ]);
    expect((await d1Ledger(to.id)).sum).toBe(5);
  });

  it("retries the credit until the target takes it, and credits it once", async () => {
    const from = await funded(4);
    const to = fresh();
    await to.balance(); // the target exists…
    await to.stub.setFaults({ unavailable: true }); // …but cannot be reached
    expect(await from.transfer({ key: "m", to: to.id, description: "Merge" })).toMatchObject({
      ok: true,
      moved: 4,
    });
    expect(await from.stats()).toMatchObject({ pendingCredits: 1 });
    expect(await runDurableObjectAlarm(from.stub)).toBe(true);
    expect(await from.stats()).toMatchObject({ pendingCredits: 1 });

    await to.stub.setFaults({ unavailable: false });
    expect(await runDurableObjectAlarm(from.stub)).toBe(true);
    expect(await from.stats()).toMatchObject({ pendingCredits: 0 });
    await from.sweep();
    expect(await to.balance()).toMatchObject({ available: 4 });
    expect((await d1Ledger(to.id)).rows.map((r) => r.type)).toEqual(["transfer_in"]);
  });

  it("forwards what a hold releases after the transfer, once: a void, a settle below the hold, expiry", async () => {
    const anon = await funded(6);
    const user = fresh();
    const a = await anon.reserve({ key: "gen-a", amount: 2, ttlMs: 60_000 });
    const b = await anon.reserve({ key: "gen-b", amount: 2, ttlMs: 60_000 });
    const c = await anon.reserve({ key: "gen-c", amount: 1, ttlMs: 1_000 });
    if (!a.ok || !b.ok || !c.ok) throw new Error("reserve");
    // Sign-in while three generations are in flight: only the free token moves now.
    const merge = { key: `merge:${anon.id}`, to: user.id, description: "Tokens from your anonymous session" };
    expect(await anon.transfer(merge)).toMatchObject({ ok: true, moved: 1 });
    expect(await user.balance()).toMatchObject({ available: 1 });

    // The first generation fails: its 2 tokens follow the user.
    expect(await anon.void(a.holdId)).toMatchObject({ ok: true, status: "voided" });
    expect(await user.balance()).toMatchObject({ available: 3 });
    expect(await anon.balance()).toMatchObject({ available: 0, held: 3, balance: 3 });
    // Voiding again, or replaying the transfer, moves nothing more.
    expect(await anon.void(a.holdId)).toMatchObject({ ok: true, status: "voided" });
    expect(await anon.transfer(merge)).toMatchObject({ ok: true, moved: 1, replayed: true });
    expect(await user.balance()).toMatchObject({ available: 3 });

    // The second costs 1 of the 2 held: the other follows.
    expect(await anon.settle({ holdId: b.holdId, amount: 1, description: "Usage" })).toMatchObject({
      ok: true,
      charged: 1,
    });
    expect(await user.balance()).toMatchObject({ available: 4 });

    // The third is abandoned: the alarm releases it at its deadline, and it follows too.
    await sleep(1_100);
    await runDurableObjectAlarm(anon.stub); // runs it now unless workerd already has
    expect(await anon.stats()).toMatchObject({ pendingCredits: 0 });
    expect(await user.balance()).toMatchObject({ available: 5, held: 0 });
    expect(await anon.balance()).toMatchObject({ available: 0, held: 0, balance: 0 });
    await anon.void(c.holdId);
    expect(await user.balance()).toMatchObject({ available: 5 });

    expect((await d1Ledger(anon.id)).rows.map((r) => [r.type, r.amount])).toEqual([
      ["grant", 6],
      ["transfer_out", -1],
      ["transfer_out", -2],
      ["usage", -1],
      ["transfer_out", -1],
      ["transfer_out", -1],
    ]);
    expect((await d1Ledger(anon.id)).sum).toBe(0);
    expect((await d1Ledger(user.id)).rows.map((r) => [r.type, r.amount])).toEqual([
      ["transfer_in", 1],
      ["transfer_in", 2],
      ["transfer_in", 1],
      ["transfer_in", 1],
    ]);
    const r = await reconcile(env);
    const ours = (x: { accountId: string }) => x.accountId === anon.id || x.accountId === user.id;
    expect(r.mismatches.filter(ours)).toEqual([]);
    expect(r.errors.filter(ours)).toEqual([]);
  });

  it("refuses a transfer to itself", async () => {
    const w = await funded(2);
    expect(await w.transfer({ key: "x", to: w.id, description: "Self" })).toMatchObject({
      code: "invalid_request",
    });
    expect(await w.balance()).toMatchObject({ available: 2 });
  });
});

describe("adjust", () => {
  it("never takes the balance below zero, and leaves held tokens alone", async () => {
    const w = await funded(5);
    const hold = await reserved(w, "h", 2);
    expect(await w.adjust({ key: "a1", amount: -10, reason: "Abuse" })).toMatchObject({
      ok: true,
      adjusted: -3,
      tokens: { available: 0, held: 2 },
    });
    expect(await w.adjust({ key: "a2", amount: -1, reason: "Again" })).toMatchObject({
      ok: true,
      adjusted: 0,
    });
    await w.void(hold.holdId);
    expect(await w.adjust({ key: "a3", amount: 4, reason: "Goodwill" })).toMatchObject({
      adjusted: 4,
      tokens: { available: 6, balance: 6 },
    });
    const ledger = await d1Ledger(w.id);
    expect(ledger.rows.map((r) => [r.type, r.amount])).toEqual([
      ["grant", 5],
      ["adjustment", -3],
      ["adjustment", 4],
    ]);
    expect(ledger.rows.every((r) => r.balanceAfter >= 0)).toBe(true);
  });
});

describe("D1 rows written", () => {
  it("costs at most 4 rows per charged generation (measured from D1's metadata)", async () => {
    const w = await funded(20);
    const before = await w.stats();
    for (let i = 0; i < 10; i++) expect(await charge(w, `c${i}`)).toBe("charged");
    const after = await w.stats();
    const perCharge = (after.d1RowsWritten - before.d1RowsWritten) / 10;
    expect(perCharge).toBeGreaterThan(0);
    expect(perCharge).toBeLessThanOrEqual(4);
    console.log(`D1 rows written per reserve+settle: ${perCharge}`);
  });

  it("writes nothing to D1 for a reserve or a void", async () => {
    const w = await funded(5);
    const before = await w.stats();
    const hold = await reserved(w, "h", 2);
    await w.void(hold.holdId);
    expect((await w.stats()).d1RowsWritten).toBe(before.d1RowsWritten);
  });
});

/** Counts the object's SQLite statements (calls of `sql.exec`) from now on; `stop` restores it. */
async function countStatements(w: ReturnType<typeof fresh>) {
  const seen: string[] = [];
  await runInDurableObject(w.stub, (_: Wallet, state) => {
    const sql = state.storage.sql;
    const exec = sql.exec;
    sql.exec = ((query: string, ...bindings: SqlStorageValue[]) => {
      seen.push(query.replace(/\s+/g, " ").trim());
      return exec.call(sql, query, ...bindings);
    }) as typeof sql.exec;
  });
  return {
    take: () => seen.splice(0),
    stop: () =>
      runInDurableObject(w.stub, (_: Wallet, state) => {
        delete (state.storage.sql as { exec?: unknown }).exec;
      }),
  };
}

describe("statements per pair", () => {
  it("a reserve takes 4 statements; a settle 5 plus 2 for its D1 batch", async () => {
    const w = await funded(20);
    for (let i = 0; i < 2; i++) expect(await charge(w, `warm${i}`)).toBe("charged");
    const count = await countStatements(w);
    try {
      const hold = await reserved(w, "counted", 1);
      // Its key with the grants, the grant it holds from, the hold with its record, the balance.
      expect(count.take()).toHaveLength(4);
      expect(await w.settle({ holdId: hold.holdId, amount: 1, description: "Usage" })).toMatchObject({
        ok: true,
      });
      // The hold, the grant, the entry, the hold's end with its record, the balance;
      // the batch's entries and its mark (D1 has every entry through it).
      expect(count.take()).toHaveLength(7);
    } finally {
      await count.stop();
    }
    expect((await d1Ledger(w.id)).sum).toBe(17);
    expect(await w.stats()).toMatchObject({ unsynced: 0 });
  });
});

describe("the outbox reads only what may be waiting", () => {
  it("sends a finished record that arrives after a batch found none", async () => {
    const w = await funded(10);
    expect(await charge(w, "before")).toBe("charged");
    const r = record({ walletId: w.id, d1Synced: false });
    expect(await w.importGenerations([r])).toMatchObject({ imported: 1 });
    expect(await charge(w, "after")).toBe("charged");
    const row = await env.DB.prepare("SELECT status FROM generations WHERE id = ?").bind(r.id).first();
    expect(row).toMatchObject({ status: "succeeded" });
  });

  it("sends a new grant's mirror at once between full refreshes", async () => {
    const w = await funded(10);
    expect(await charge(w, "c")).toBe("charged");
    expect(await w.grant({ key: "late", source: "promo", amount: 5, description: "Promo" })).toMatchObject({
      ok: true,
    });
    const { results } = await env.DB.prepare("SELECT source, remaining FROM grants WHERE wallet_id = ?")
      .bind(w.id)
      .all();
    expect(results).toContainEqual(expect.objectContaining({ source: "promo", remaining: 5 }));
  });
});

describe("upgrade to the synced mark", () => {
  it("sends D1 only the entries it lacks, once", async () => {
    const w = await funded(10);
    expect(await charge(w, "online", 3)).toBe("charged");
    await w.stub.setFaults({ d1: "down" });
    expect(await charge(w, "offline", 1)).toBe("charged");
    await w.stub.setFaults({ d1: "ok" });
    // Back to the object's schema version 9: a synced flag per entry.
    await runInDurableObject(w.stub, (_: Wallet, state) => {
      state.storage.sql.exec(`
        ALTER TABLE entries ADD COLUMN synced INTEGER NOT NULL DEFAULT 0;
        UPDATE entries SET synced = 1 WHERE seq <= (SELECT synced_seq FROM flush_stats);
        CREATE INDEX entries_unsynced ON entries (synced, seq);
        ALTER TABLE flush_stats DROP COLUMN synced_seq;
        ${HOLD_RECORDS_BACK_TO_OPS}
        UPDATE meta SET v = '9' WHERE k = 'schema_version';`);
    });
    await evictDurableObject(w.stub);

    expect(await w.stats()).toMatchObject({ unsynced: 1 });
    const batches = (await w.stats()).d1Batches;
    await w.sweep();
    expect((await w.stats()).d1Batches).toBe(batches + 1);
    expect(await w.stats()).toMatchObject({ unsynced: 0 });
    expect((await d1Ledger(w.id)).rows.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(await charge(w, "after", 2)).toBe("charged");
    expect((await d1Ledger(w.id)).sum).toBe(4);
    const r = await reconcile(env);
    expect(r.mismatches.filter((m) => m.accountId === w.id)).toEqual([]);
  });
});

describe("upgrade to the records in the hold row", () => {
  it("keeps the answers of earlier reserves and settles, and their conflicts", async () => {
    const w = await funded(10);
    const open = await reserved(w, "open", 2);
    const done = await reserved(w, "done", 3);
    const settled = await w.settle({ holdId: done.holdId, amount: 3, description: "Usage" });
    expect(settled.ok).toBe(true);
    await w.stub.setFaults({ d1: "down" });
    expect(await charge(w, "offline", 1)).toBe("charged");
    await w.stub.setFaults({ d1: "ok" });
    // Back to the object's schema version 10: records in `ops`.
    await runInDurableObject(w.stub, (_: Wallet, state) => {
      state.storage.sql.exec(`
        ${HOLD_RECORDS_BACK_TO_OPS}
        UPDATE meta SET v = '10' WHERE k = 'schema_version';`);
    });
    await evictDurableObject(w.stub);

    await w.sweep();
    expect((await d1Ledger(w.id)).rows.map((r) => r.seq)).toEqual([1, 2, 3]);
    // Retries answer what the first calls did, from the records moved into the holds.
    expect(await w.reserve({ key: "open", amount: 2, ttlMs: 60_000 })).toMatchObject({
      ...open,
      tokens: expect.anything(),
      replayed: true,
    });
    expect(await w.reserve({ key: "done", amount: 3, ttlMs: 60_000 })).toMatchObject({
      holdId: done.holdId,
      replayed: true,
    });
    expect(await w.settle({ holdId: done.holdId, amount: 3, description: "Usage" })).toMatchObject({
      ok: true,
      charged: 3,
      entryId: (settled as { entryId: string }).entryId,
      replayed: true,
    });
    expect(await w.reserve({ key: "open", amount: 1, ttlMs: 60_000 })).toMatchObject({
      code: "idempotency_conflict",
    });
    expect(await w.settle({ holdId: open.holdId, amount: 2, description: "Usage" })).toMatchObject({
      ok: true,
      charged: 2,
    });
    expect(await w.balance()).toMatchObject({ balance: 4, held: 0 });
    expect((await d1Ledger(w.id)).sum).toBe(4);
    const r = await reconcile(env);
    expect(r.mismatches.filter((m) => m.accountId === w.id)).toEqual([]);
    await runInDurableObject(w.stub, (_: Wallet, state) => {
      expect(state.storage.sql.exec("SELECT count(*) AS n FROM ops").one().n).toBe(1); // the seed grant
    });
  });
});
