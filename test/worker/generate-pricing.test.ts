import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  DEFAULT_PRICING,
  forgetCachedPricing,
  getPricing,
  pricingUpdateSchema,
  updatePricing,
} from "../../worker/billing/pricing";
import { db } from "../../worker/db/client";
import { featurePrices, rateLimits } from "../../worker/db/schema";
import { checkRateLimits } from "../../worker/lib/rate-limit";
import { GENERATE_LIMITS } from "../../worker/routes/generate";
import { balance, fundedAccount, generate, ledger, parseSse, ticketBody, upstream } from "./generate-helpers";

afterEach(async () => {
  await db(env.DB).delete(featurePrices);
  forgetCachedPricing();
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

/** Puts a key's budget 5 s past full, as a burst of requests just did. */
async function exhaust(key: string, periodMs: number) {
  await db(env.DB)
    .insert(rateLimits)
    .values({ key, tat: Date.now() + periodMs + 5_000 });
}

describe("rate limits", () => {
  it("answers 429 with Retry-After once an account used its budget, before any charge or upstream call", async () => {
    const a = await fundedAccount(3);
    await exhaust(`generate:acc:${a.id}`, GENERATE_LIMITS.account.periodMs);
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
    await exhaust(`generate:ip:${ip}`, GENERATE_LIMITS.ip.periodMs);
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
