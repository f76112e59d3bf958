import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { checkouts, purchases } from "../../worker/db/schema";
import { newId } from "../../worker/lib/ids";
import { adminFetch, adminJson, insertGeneration, makeAccount } from "./admin-helpers";

const DAY = 86_400_000;
const now = Date.now();
const startOfToday = now - (now % DAY);
/** Safely inside "today" and "yesterday" (UTC) whatever the time of the run. */
const today = now - 1;
const yesterday = startOfToday - 3_600_000;

async function purchase(
  accountId: string,
  p: {
    amount: number;
    tokens: number;
    kind?: "pack" | "allowance";
    refunded?: number;
    at?: number;
    demo?: boolean;
  },
) {
  const checkoutId = `cs_${p.demo ? "demo_" : ""}${newId("pur")}`;
  const createdAt = new Date(p.at ?? today);
  await db(env.DB)
    .insert(checkouts)
    .values({
      id: checkoutId,
      accountId,
      planId: "starter",
      mode: "payment",
      amount: p.amount,
      currency: "usd",
      tokens: p.tokens,
      demo: p.demo ?? false,
      createdAt,
    });
  await db(env.DB)
    .insert(purchases)
    .values({
      id: newId("pur"),
      accountId,
      planId: "starter",
      kind: p.kind ?? "pack",
      checkoutSessionId: checkoutId,
      amount: p.amount,
      currency: "usd",
      tokens: p.tokens,
      refundedAmount: p.refunded ?? 0,
      createdAt,
    });
}

interface Stats {
  window: { days: number };
  usage: {
    generations: number;
    spent: number;
    byDay: { date: string; generations: number; spent: number; failed: number }[];
    byFeature: Record<string, { generations: number; spent: number }>;
    byModel: Record<string, { generations: number; spent: number }>;
    bySite: Record<string, { generations: number; spent: number }>;
    ledger: Record<string, number>;
    upstreamCostUsd: number;
  };
  generations: {
    total: number;
    succeeded: number;
    failed: number;
    pending: number;
    cancelled: number;
    failedRate: number;
  };
  latency: {
    firstDeltaP50Ms: number | null;
    firstDeltaP95Ms: number | null;
    count: number;
    avgMs: number | null;
    p50Ms: number | null;
    p95Ms: number | null;
    maxMs: number | null;
  };
  revenue: {
    purchases: number;
    packs: number;
    allowances: number;
    tokens: number;
    gross: Record<string, number>;
    refunded: Record<string, number>;
    net: Record<string, number>;
    byDay: { date: string; purchases: number; gross: Record<string, number> }[];
    demoPurchases: number;
  };
  accounts: { anonymous: number; signUps: number; firstPurchases: number };
  funnel: { anonymous: number; signedUp: number; paying: number; signUpRate: number; payingRate: number };
}

describe("GET /admin/stats", () => {
  beforeAll(async () => {
    // Funnel: four anonymous visitors this week; two signed in, one of them paid.
    const payer = await makeAccount({ email: "payer@stats.test", tokens: 10 });
    const browser = await makeAccount({ email: "browser@stats.test" });
    await makeAccount({ kind: "anonymous", mergedInto: payer.id });
    await makeAccount({ kind: "anonymous", mergedInto: browser.id });
    await makeAccount({ kind: "anonymous" });
    await makeAccount({ kind: "anonymous", createdAt: yesterday });
    // Outside a 7-day window.
    await makeAccount({ kind: "anonymous", createdAt: now - 20 * DAY });
    await adminJson(`/admin/accounts/${payer.id}/adjust`, {
      method: "POST",
      json: { amount: -3, reason: "Stats" },
    });

    // Today: three jira generations, one failed gitlab refine, one still pending.
    for (const latencyMs of [100, 200, 300]) {
      await insertGeneration(payer.id, {
        latencyMs,
        firstDeltaMs: latencyMs / 10,
        costUsd: 0.0004,
        createdAt: today,
      });
    }
    await insertGeneration(payer.id, {
      site: "gitlab",
      feature: "refine",
      status: "failed",
      charged: 0,
      latencyMs: 50,
      createdAt: today,
    });
    await insertGeneration(payer.id, { status: "pending", charged: 0, latencyMs: null, createdAt: today });
    // Yesterday: two linear subtasks on another model.
    for (const latencyMs of [400, 1000]) {
      await insertGeneration(browser.id, {
        site: "linear",
        feature: "subtasks",
        model: "anthropic/claude-haiku",
        charged: 2,
        latencyMs,
        createdAt: yesterday,
      });
    }
    // Ten days ago: outside a 7-day window.
    await insertGeneration(payer.id, { charged: 5, latencyMs: 9000, createdAt: now - 10 * DAY });

    // Revenue: two packs today (one half refunded), an allowance yesterday,
    // a demo purchase (not money), an old pack outside the window.
    await purchase(payer.id, { amount: 500, tokens: 50 });
    await purchase(payer.id, { amount: 1000, tokens: 120, refunded: 400 });
    await purchase(payer.id, { amount: 900, tokens: 200, kind: "allowance", at: yesterday });
    await purchase(browser.id, { amount: 500, tokens: 50, demo: true });
    await purchase(payer.id, { amount: 500, tokens: 50, at: now - 10 * DAY });
  });

  it("counts generations by day, feature, model and site", async () => {
    const s = await adminJson<Stats>("/admin/stats?days=7");
    expect(s.window.days).toBe(7);
    expect(s.usage.generations).toBe(7);
    expect(s.usage.spent).toBe(3 + 4);
    expect(s.usage.byDay).toHaveLength(7);
    expect(s.usage.byDay.at(-1)).toMatchObject({ generations: 5, spent: 3, failed: 1 });
    expect(s.usage.byDay.at(-2)).toMatchObject({ generations: 2, spent: 4, failed: 0 });
    expect(s.usage.byDay.slice(0, 5).every((d) => d.generations === 0)).toBe(true);
    expect(s.usage.byFeature).toEqual({
      generate: { generations: 4, spent: 3 },
      refine: { generations: 1, spent: 0 },
      subtasks: { generations: 2, spent: 4 },
    });
    expect(s.usage.byModel).toEqual({
      "openai/gpt-oss-20b": { generations: 5, spent: 3 },
      "anthropic/claude-haiku": { generations: 2, spent: 4 },
    });
    expect(s.usage.bySite).toEqual({
      jira: { generations: 4, spent: 3 },
      gitlab: { generations: 1, spent: 0 },
      linear: { generations: 2, spent: 4 },
    });
    expect(s.usage.ledger).toMatchObject({ grant: 10, adjustment: -3 });
  });

  it("reports the failure rate and upstream latency", async () => {
    const s = await adminJson<Stats>("/admin/stats?days=7");
    expect(s.generations).toMatchObject({ total: 7, succeeded: 5, failed: 1, pending: 1, cancelled: 0 });
    expect(s.generations.failedRate).toBeCloseTo(1 / 6, 4);
    // Latencies 50, 100, 200, 300, 400, 1000 (the pending one has none).
    expect(s.latency).toEqual({
      count: 6,
      avgMs: 342,
      p50Ms: 200,
      p95Ms: 1000,
      maxMs: 1000,
      // Only the three jira generations reported a first delta: 10, 20, 30.
      firstDeltaP50Ms: 20,
      firstDeltaP95Ms: 30,
    });
    expect(s.usage.upstreamCostUsd).toBeCloseTo(0.0012, 6);
  });

  it("reports revenue from real purchases, net of refunds", async () => {
    const s = await adminJson<Stats>("/admin/stats?days=7");
    expect(s.revenue).toMatchObject({
      purchases: 3,
      packs: 2,
      allowances: 1,
      tokens: 370,
      gross: { usd: 2400 },
      refunded: { usd: 400 },
      net: { usd: 2000 },
      demoPurchases: 1,
    });
    expect(s.revenue.byDay.at(-1)).toEqual({
      date: s.usage.byDay.at(-1)?.date,
      purchases: 2,
      gross: { usd: 1500 },
    });
    expect(s.revenue.byDay.at(-2)).toMatchObject({ purchases: 1, gross: { usd: 900 } });
  });

  it("follows the funnel from anonymous to user to paying", async () => {
    const s = await adminJson<Stats>("/admin/stats?days=7");
    expect(s.accounts).toEqual({ anonymous: 4, signUps: 2, firstPurchases: 0 });
    expect(s.funnel).toEqual({ anonymous: 4, signedUp: 2, paying: 1, signUpRate: 0.5, payingRate: 0.5 });
  });

  it("lists an account's purchases in its detail", async () => {
    const [payer] = (await adminJson<{ items: { id: string }[] }>("/admin/accounts?query=payer@stats.test"))
      .items;
    const detail = await adminJson<{ stats: { purchases: { amount: number; refundedAmount: number }[] } }>(
      `/admin/accounts/${payer?.id}`,
    );
    expect(detail.stats.purchases.map((p) => p.amount).sort()).toEqual([1000, 500, 500, 900].sort());
    expect(detail.stats.purchases.find((p) => p.amount === 1000)?.refundedAmount).toBe(400);
  });

  it("widens with the window", async () => {
    const s = await adminJson<Stats>("/admin/stats?days=30");
    expect(s.usage.byDay).toHaveLength(30);
    expect(s.usage.generations).toBe(8);
    expect(s.latency.maxMs).toBe(9000);
    expect(s.accounts).toMatchObject({ anonymous: 5, firstPurchases: 1 });
    expect(s.revenue.gross).toEqual({ usd: 2900 });
  });

  it("refuses a bad window with 400", async () => {
    for (const days of ["0", "367", "x", "1.5"]) {
      const res = await adminFetch(`/admin/stats?days=${days}`);
      expect(res.status, days).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "invalid_request" } });
    }
  });
});

describe("stats follow what users do through the API", () => {
  it("counts a visitor who generates, signs in and generates again", async () => {
    const before = await adminJson<Stats>("/admin/stats?days=1");
    const anon = await SELF.fetch("http://w/api/anonymous", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ visitorId: "stats-flow-visitor-0001" }),
    });
    expect(anon.status).toBe(200);
    const { token: anonToken } = await anon.json<{ token: string }>();
    const first = await generate(anonToken, "stats-flow-0001", "generate");

    const login = await SELF.fetch("http://localhost/auth/dev-login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "flow@stats.test", anonymousToken: anonToken }),
    });
    expect(login.status).toBe(200);
    const { token } = await login.json<{ token: string }>();
    const second = await generate(token, "stats-flow-0002", "subtasks");

    const after = await adminJson<Stats>("/admin/stats?days=1");
    const charged = first.charged + second.charged;
    expect(charged).toBeGreaterThan(0);
    expect(after.usage.generations - before.usage.generations).toBe(2);
    expect(after.usage.spent - before.usage.spent).toBe(charged);
    expect((after.usage.ledger.usage ?? 0) - (before.usage.ledger.usage ?? 0)).toBe(-charged);
    expect(after.generations.succeeded - before.generations.succeeded).toBe(2);
    expect(
      (after.usage.byFeature.subtasks?.generations ?? 0) -
        (before.usage.byFeature.subtasks?.generations ?? 0),
    ).toBe(1);
    expect(after.latency.count - before.latency.count).toBe(2);
    expect(after.accounts.anonymous - before.accounts.anonymous).toBe(1);
    expect(after.accounts.signUps - before.accounts.signUps).toBe(1);
    expect(after.funnel.signedUp - before.funnel.signedUp).toBe(1);
    expect(await adminJson("/admin/reconcile")).toMatchObject({ ok: true, mismatches: [] });
  });
});

async function generate(token: string, key: string, feature: string): Promise<{ charged: number }> {
  const res = await SELF.fetch("http://localhost/api/generate", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "Idempotency-Key": key },
    body: JSON.stringify({ site: "jira", feature, issueType: "story", prompt: "Export invoices as CSV" }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<{ charged: number }>();
}
