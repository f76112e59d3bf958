import { env, runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import {
  agePricing,
  cachedPricing,
  DEFAULT_PRICING,
  forgetSeenPricing,
  getPricing,
  pricingUpdateSchema,
  refreshPricing,
  stalePricing,
  updatePricing,
} from "../../worker/billing/pricing";
import { db } from "../../worker/db/client";
import { accounts, featurePrices } from "../../worker/db/schema";
import { checkRateLimits } from "../../worker/lib/rate-limit";
import { GENERATE_LIMITS } from "../../worker/routes/generate";
import { OWNER_REFRESH_MS } from "../../worker/wallet/access";
import { wallet } from "../../worker/wallet/client";
import {
  balance,
  fundedAccount,
  generate,
  generationRows,
  ledger,
  parseSse,
  ticketBody,
  upstream,
} from "./generate-helpers";

afterEach(async () => {
  await db(env.DB).delete(featurePrices);
  forgetSeenPricing();
});

describe("pricing table", () => {
  it("starts at the defaults: generate 1, refine 1, subtasks 2", async () => {
    expect(await getPricing(db(env.DB))).toEqual(DEFAULT_PRICING);
    expect(DEFAULT_PRICING).toMatchObject({
      generate: { baseCost: 1 },
      refine: { baseCost: 1 },
      subtasks: { baseCost: 2 },
    });
  });

  it("validates an admin's update and applies it", async () => {
    expect(pricingUpdateSchema.safeParse({ features: { generate: { baseCost: 0 } } }).success).toBe(false);
    expect(pricingUpdateSchema.safeParse({ features: { poem: { baseCost: 1 } } }).success).toBe(false);
    expect(
      pricingUpdateSchema.safeParse({ features: { generate: { baseCost: 1, usageMaxCost: 3 } } }).success,
    ).toBe(false);
    const input = pricingUpdateSchema.parse({ features: { refine: { baseCost: 3, plans: ["pro"] } } });
    const pricing = await updatePricing(db(env.DB), input);
    expect(pricing.refine).toEqual({
      baseCost: 3,
      usageOutputTokensPerToken: null,
      usageMaxCost: 0,
      plans: ["pro"],
    });
    expect(pricing.generate).toEqual(DEFAULT_PRICING.generate);
  });

  it("charges subtasks 2 tokens by default", async () => {
    const a = await fundedAccount(5);
    const { res, settled } = await generate(
      upstream("fake/ok").env,
      a.token,
      ticketBody({ feature: "subtasks", context: { title: "Checkout v2" } }),
      { sse: true },
    );
    const events = parseSse(await res.text());
    await settled();
    expect(events[0]?.data).toMatchObject({ held: 2 });
    expect(events.at(-1)).toMatchObject({ event: "done", data: { charged: 2 } });
    expect((await balance(a.id)).available).toBe(3);
  });

  it("holds the maximum and charges base plus the usage part from reported output tokens", async () => {
    await updatePricing(
      db(env.DB),
      pricingUpdateSchema.parse({
        features: { generate: { baseCost: 1, usageOutputTokensPerToken: 100, usageMaxCost: 3 } },
      }),
    );
    const a = await fundedAccount(10);
    const { res, settled } = await generate(upstream("fake/ok:tokens=250").env, a.token, ticketBody(), {
      sse: true,
    });
    expect(res.headers.get("X-Tokens-Remaining")).toBe("6"); // 4 held
    const events = parseSse(await res.text());
    await settled();
    expect(events[0]?.data).toMatchObject({ held: 4 });
    // 1 + floor(250 / 100) = 3; the unused token of the hold goes back.
    expect(events.at(-1)?.data).toMatchObject({ charged: 3, tokens: { available: 7, held: 0 } });
    expect((await ledger(a.id)).filter((e) => e.type === "usage").map((e) => e.amount)).toEqual([-3]);

    // The usage part is capped: 9000 output tokens still cost 1 + 3.
    const capped = await generate(upstream("fake/ok:tokens=9000").env, a.token, ticketBody());
    await capped.settled();
    expect(await capped.res.json()).toMatchObject({ charged: 4 });
    expect((await balance(a.id)).available).toBe(3);
  });

  it("refuses a feature outside the account's plan with 403 feature_not_in_plan", async () => {
    await updatePricing(
      db(env.DB),
      pricingUpdateSchema.parse({ features: { subtasks: { baseCost: 2, plans: ["team"] } } }),
    );
    const up = upstream("fake/ok");
    const free = await fundedAccount(5);
    const refused = await generate(up.env, free.token, ticketBody({ feature: "subtasks" }));
    expect(refused.res.status).toBe(403);
    expect(await refused.res.json()).toMatchObject({ error: { code: "feature_not_in_plan" } });
    expect(await up.requests()).toEqual([]);
    expect((await balance(free.id)).available).toBe(5);

    const team = await fundedAccount(5, { plan: "team" });
    const allowed = await generate(up.env, team.token, ticketBody({ feature: "subtasks" }));
    await allowed.settled();
    expect(allowed.res.status).toBe(200);
    // Other features stay open to everyone.
    const generateFree = await generate(up.env, free.token, ticketBody());
    await generateFree.settled();
    expect(generateFree.res.status).toBe(200);
  });
});

/**
 * Writes a price straight into D1, as an admin's change made through another
 * Worker isolate would: nothing in this isolate hears of it.
 */
async function priceElsewhere(feature: string, price: { baseCost: number; plans?: string[] }) {
  const values = { baseCost: price.baseCost, plans: price.plans ?? null, updatedAt: new Date() };
  await db(env.DB)
    .insert(featurePrices)
    .values({ feature, ...values })
    .onConflictDoUpdate({ target: featurePrices.feature, set: values });
}

describe("a price change", () => {
  // Pricing is cached per isolate (docs/decisions/018): a change made
  // elsewhere applies from the first request after this isolate's refresh.
  it("applies to the next request once this isolate refreshed, on an isolate that generated at the old price", async () => {
    const a = await fundedAccount(10);
    const up = upstream("fake/ok");
    const before = await generate(up.env, a.token, ticketBody());
    await before.settled();
    expect(await before.res.json()).toMatchObject({ charged: 1 });

    await priceElsewhere("generate", { baseCost: 3 });
    await refreshPricing(env.DB);
    const raised = await generate(up.env, a.token, ticketBody(), { sse: true });
    expect(raised.res.headers.get("X-Tokens-Remaining")).toBe("6"); // 9 − 3 held
    const events = parseSse(await raised.res.text());
    await raised.settled();
    expect(events[0]?.data).toMatchObject({ held: 3 });
    expect(events.at(-1)).toMatchObject({
      event: "done",
      data: { charged: 3, tokens: { available: 6, held: 0 } },
    });
    expect((await ledger(a.id)).filter((e) => e.type === "usage").map((e) => e.amount)).toEqual([-1, -3]);
    expect((await generationRows(a.id)).map((g) => [g.held, g.charged]).sort()).toEqual([
      [1, 1],
      [3, 3],
    ]);

    // Back down again: the next request pays the lower price, not the one this isolate saw last.
    await priceElsewhere("generate", { baseCost: 2 });
    await refreshPricing(env.DB);
    const lowered = await generate(up.env, a.token, ticketBody());
    await lowered.settled();
    expect(await lowered.res.json()).toMatchObject({ charged: 2, tokens: { available: 4, held: 0 } });
  });

  it("is read in the background once the cache is due: no request waits for D1, the next one pays it", async () => {
    const a = await fundedAccount(10);
    const up = upstream("fake/ok");
    const warm = await generate(up.env, a.token, ticketBody());
    await warm.settled();
    const version = (await cachedPricing(env.DB, () => {})).version;

    await priceElsewhere("generate", { baseCost: 3 });
    agePricing(); // PRICING_REFRESH_MS have passed
    // Admitted at the price it had; its request refreshes the cache on the side.
    const due = await generate(up.env, a.token, ticketBody());
    await due.settled();
    expect(await due.res.json()).toMatchObject({ charged: 1 });
    const refreshed = await cachedPricing(env.DB, () => {});
    expect(refreshed.version).not.toBe(version);
    expect(refreshed.pricing.generate.baseCost).toBe(3);

    const next = await generate(up.env, a.token, ticketBody());
    await next.settled();
    expect(await next.res.json()).toMatchObject({ charged: 3, tokens: { available: 5 } });
  });

  it("refuses with 402 at the new price, holding nothing, when the balance covers only the old one", async () => {
    const a = await fundedAccount(2);
    const up = upstream("fake/ok");
    await priceElsewhere("refine", { baseCost: 1 });
    await refreshPricing(env.DB);
    const warm = await generate(up.env, a.token, ticketBody({ feature: "refine" }));
    await warm.settled();
    expect(warm.res.status).toBe(200);

    await priceElsewhere("refine", { baseCost: 3 });
    await refreshPricing(env.DB);
    const { res } = await generate(up.env, a.token, ticketBody({ feature: "refine" }));
    expect(res.status).toBe(402);
    expect(await res.json()).toMatchObject({
      error: { code: "insufficient_tokens", required: 3, available: 1, shortage: 2 },
    });
    expect(await balance(a.id)).toMatchObject({ available: 1, held: 0 });
    expect(await up.requests()).toHaveLength(1);
  });

  it("limits a feature to plans from the next refresh", async () => {
    const a = await fundedAccount(5);
    const up = upstream("fake/ok");
    const open = await generate(up.env, a.token, ticketBody({ feature: "subtasks" }));
    await open.settled();
    expect(open.res.status).toBe(200);

    await priceElsewhere("subtasks", { baseCost: 2, plans: ["team"] });
    await refreshPricing(env.DB);
    const { res } = await generate(up.env, a.token, ticketBody({ feature: "subtasks" }));
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: "feature_not_in_plan" } });
    expect(await balance(a.id)).toMatchObject({ available: 3, held: 0 });
  });

  it("never goes back for a wallet: an isolate that has not heard of a change its wallet was charged at reads it again", async () => {
    const a = await fundedAccount(10);
    const up = upstream("fake/ok");
    const warm = await generate(up.env, a.token, ticketBody());
    await warm.settled();
    const old = await cachedPricing(env.DB, () => {});

    // Another isolate's view: the raised price, read and charged to this wallet.
    await priceElsewhere("generate", { baseCost: 3 });
    await refreshPricing(env.DB);
    const raised = await generate(up.env, a.token, ticketBody());
    await raised.settled();
    expect(await raised.res.json()).toMatchObject({ charged: 3 });

    // This isolate still holds the old price, within its refresh period.
    stalePricing(old);
    const key = crypto.randomUUID();
    const late = await generate(up.env, a.token, ticketBody(), { key, sse: true });
    const events = parseSse(await late.res.text());
    await late.settled();
    expect(events[0]?.data).toMatchObject({ held: 3 });
    expect(events.at(-1)).toMatchObject({ event: "done", data: { charged: 3, tokens: { available: 3 } } });
    // The refusal wrote nothing: one usage entry and one record per generation, the key
    // free for the retry, and the model called once per generation.
    expect((await ledger(a.id)).filter((e) => e.type === "usage").map((e) => e.amount)).toEqual([-1, -3, -3]);
    expect((await generationRows(a.id)).map((g) => g.charged).sort()).toEqual([1, 3, 3]);
    expect(await up.requests()).toHaveLength(3);
    expect((await cachedPricing(env.DB, () => {})).pricing.generate.baseCost).toBe(3);

    // A wallet that never saw the change keeps this isolate's price until its refresh.
    const b = await fundedAccount(10);
    stalePricing(old);
    const other = await generate(up.env, b.token, ticketBody());
    await other.settled();
    expect(await other.res.json()).toMatchObject({ charged: 1 });
  });
});

/** Puts the account's budget 5 s past full, as a burst of requests just did (its object keeps it). */
async function exhaust(accountId: string, periodMs: number) {
  await runInDurableObject(wallet(env, accountId).stub, async (_instance, state) => {
    state.storage.sql.exec(
      "INSERT INTO rate_limits (key, tat) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET tat = excluded.tat",
      `generate:acc:${accountId}`,
      Date.now() + periodMs + 5_000,
    );
  });
}

/** Uses up an address's budget in the Workers Rate Limiting binding. */
async function exhaustAddress(ip: string) {
  const limiter = env.GENERATE_IP_LIMIT as RateLimit;
  for (let i = 0; i < GENERATE_LIMITS.ip.limit; i++) await limiter.limit({ key: `generate:ip:${ip}` });
}

describe("a plan change whose push to the wallet was lost", () => {
  it("reaches the wallet once its owner state is older than the refresh period, read in the background", async () => {
    await priceElsewhere("subtasks", { baseCost: 2, plans: ["team"] });
    await refreshPricing(env.DB);
    const a = await fundedAccount(10);
    const up = upstream("fake/ok");
    const refused = await generate(up.env, a.token, ticketBody({ feature: "subtasks" }));
    expect(refused.res.status).toBe(403);

    // Stripe's webhook changed D1, and its push to the wallet never arrived.
    await db(env.DB).update(accounts).set({ plan: "team" }).where(eq(accounts.id, a.id));
    const stillOld = await generate(up.env, a.token, ticketBody({ feature: "subtasks" }));
    expect(stillOld.res.status).toBe(403);

    // Past the period the next request is answered from what the wallet has,
    // and starts the read; the one after has the plan.
    await wallet(env, a.id).stub.setFaults({ clockOffsetMs: OWNER_REFRESH_MS + 1000 });
    const starts = await generate(up.env, a.token, ticketBody({ feature: "subtasks" }));
    expect(starts.res.status).toBe(403);
    await expect
      .poll(async () => {
        const r = await generate(up.env, a.token, ticketBody({ feature: "subtasks" }));
        await r.settled();
        return r.res.status;
      })
      .toBe(200);
    expect((await balance(a.id)).available).toBe(8);
  });

  it("does not undo a push that arrived while it was read", async () => {
    const a = await fundedAccount(10);
    const up = upstream("fake/ok");
    const warm = await generate(up.env, a.token, ticketBody());
    await warm.settled();
    const w = wallet(env, a.id);
    await w.stub.setFaults({ clockOffsetMs: OWNER_REFRESH_MS + 1000 });
    // D1 still says active when the background read starts; the block's push lands meanwhile.
    const [started] = await Promise.all([
      generate(up.env, a.token, ticketBody()),
      w.setOwnerState({ status: "blocked" }),
    ]);
    await started.settled();
    await new Promise((r) => setTimeout(r, 50)); // the background read has answered
    const blocked = await generate(up.env, a.token, ticketBody());
    expect(blocked.res.status).toBe(403);
    expect(await blocked.res.json()).toMatchObject({
      error: { code: "forbidden", message: "This account is blocked. Contact support." },
    });
  });
});

describe("rate limits", () => {
  it("answers 429 with Retry-After once an account used its budget, before any charge or upstream call", async () => {
    const a = await fundedAccount(3);
    await exhaust(a.id, GENERATE_LIMITS.account.periodMs);
    const up = upstream("fake/ok");
    const { res } = await generate(up.env, a.token, ticketBody());
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    // 5 s past full, plus one emission interval (3 s).
    expect(retryAfter).toBeLessThanOrEqual(8);
    expect(await res.json()).toMatchObject({ error: { code: "rate_limited" } });
    expect(await up.requests()).toEqual([]);
    expect((await balance(a.id)).available).toBe(3);

    // Another account is not affected.
    const b = await fundedAccount(1);
    const other = await generate(up.env, b.token, ticketBody());
    await other.settled();
    expect(other.res.status).toBe(200);
  });

  it("limits per client IP across accounts", async () => {
    const ip = "203.0.113.9";
    await exhaustAddress(ip);
    const a = await fundedAccount(3);
    const { res } = await generate(upstream("fake/ok").env, a.token, ticketBody(), {
      headers: { "CF-Connecting-IP": ip },
    });
    expect(res.status).toBe(429);
    const elsewhere = await generate(upstream("fake/ok").env, a.token, ticketBody(), {
      headers: { "CF-Connecting-IP": "203.0.113.10" },
    });
    await elsewhere.settled();
    expect(elsewhere.res.status).toBe(200);
  });

  it("GCRA: a burst up to the limit, then one request per interval", async () => {
    const limit = { key: `unit:${crypto.randomUUID()}`, limit: 3, periodMs: 60_000 };
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) expect((await checkRateLimits(env.DB, [limit], t0)).ok).toBe(true);
    const refused = await checkRateLimits(env.DB, [limit], t0);
    expect(refused).toEqual({ ok: false, key: limit.key, retryAfterMs: 20_000 });
    expect((await checkRateLimits(env.DB, [limit], t0 + 19_999)).ok).toBe(false);
    expect((await checkRateLimits(env.DB, [limit], t0 + 20_000)).ok).toBe(true);
    expect((await checkRateLimits(env.DB, [limit], t0 + 20_000)).ok).toBe(false);
  });
});
