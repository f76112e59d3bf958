import { env } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { CHECKOUT_LIMITS } from "../../worker/routes/billing";
import { availableOf, call, deliver, demoEnv, event, newAccount, packSession } from "./billing-helpers";

interface FakeRequest {
  method: string;
  path: string;
  body: Record<string, unknown>;
  idempotencyKey?: string;
}

/** What the fake Stripe received for one account (the fake is shared by test files). */
async function stripeRequests(accountId: string): Promise<FakeRequest[]> {
  const all = await (await fetch(`${inject("fakes").stripe}/__fake/requests`)).json<FakeRequest[]>();
  return all.filter((r) => JSON.stringify(r.body).includes(accountId));
}

describe("GET /api/plans", () => {
  it("lists the seeded packs and subscriptions with first-purchase prices for a new caller", async () => {
    const res = await call("/api/plans");
    expect(res.status).toBe(200);
    const body = await res.json<{
      packs: {
        id: string;
        tokens: number;
        price: { amount: number };
        firstPurchasePrice?: { amount: number };
      }[];
      subscriptions: { id: string; monthlyTokens: number; rolloverPercent: number; features: string[] }[];
    }>();
    expect(body.packs.map((p) => [p.id, p.tokens])).toEqual([
      ["starter", 10],
      ["professional", 50],
      ["enterprise", 200],
    ]);
    expect(body.packs.find((p) => p.id === "professional")).toMatchObject({ popular: true });
    for (const p of body.packs) {
      expect(p.firstPurchasePrice?.amount).toBe(Math.round(p.price.amount * 0.8));
    }
    expect(body.subscriptions.map((s) => [s.id, s.rolloverPercent])).toEqual([
      ["pro", 50],
      ["team", 50],
    ]);
    expect(body.subscriptions[0]?.features.length).toBeGreaterThan(0);
  });

  it("drops the first-purchase price once the caller has paid", async () => {
    const acc = await newAccount();
    const before = await (await call("/api/plans", { token: acc.token })).json<{ packs: object[] }>();
    expect(before.packs[0]).toHaveProperty("firstPurchasePrice");
    await deliver(event("checkout.session.completed", packSession(acc.id, "starter")));
    const res = await call("/api/plans", { token: acc.token });
    expect(res.headers.get("X-Tokens-Remaining")).toBe("10");
    const after = await res.json<{ packs: object[] }>();
    expect(after.packs[0]).not.toHaveProperty("firstPurchasePrice");
  });
});

describe("POST /api/checkout with Stripe", () => {
  it("refuses anonymous sessions with 403 sign_in_required and missing tokens with 401", async () => {
    const anon = await newAccount({ kind: "anonymous" });
    const res = await call("/api/checkout", { token: anon.token, body: { planId: "starter" } });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: "sign_in_required" } });
    expect((await call("/api/checkout", { body: { planId: "starter" } })).status).toBe(401);
    expect(await stripeRequests(anon.id)).toEqual([]);
  });

  it("refuses blocked accounts, unknown plans and bad bodies", async () => {
    const blocked = await newAccount({ blocked: true });
    const b = await call("/api/checkout", { token: blocked.token, body: { planId: "starter" } });
    expect(b.status).toBe(403);
    expect(await b.json()).toMatchObject({ error: { code: "forbidden" } });

    const acc = await newAccount();
    const unknown = await call("/api/checkout", { token: acc.token, body: { planId: "platinum" } });
    expect(unknown.status).toBe(404);
    const bad = await call("/api/checkout", { token: acc.token, body: { plan: "starter" } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "invalid_request" } });
    expect(await stripeRequests(acc.id)).toEqual([]);
  });

  it("creates a payment-mode session for a pack at the first-purchase price, reusing one customer", async () => {
    const acc = await newAccount();
    const first = await call("/api/checkout", { token: acc.token, body: { planId: "professional" } });
    expect(first.status).toBe(200);
    const one = await first.json<{ url: string; id: string }>();
    expect(one.url).toMatch(/^https:\/\/checkout\.stripe\.com\//);
    expect(one.id).toMatch(/^cs_test_/);
    const second = await (
      await call("/api/checkout", { token: acc.token, body: { planId: "starter" } })
    ).json<{
      id: string;
    }>();
    expect(second.id).not.toBe(one.id);

    const sent = await stripeRequests(acc.id);
    const customers = sent.filter((r) => r.path === "/v1/customers");
    expect(customers).toHaveLength(1);
    expect(customers[0]?.idempotencyKey).toContain(acc.id);
    const sessions = sent.filter((r) => r.path === "/v1/checkout/sessions").map((r) => r.body);
    expect(sessions).toHaveLength(2);
    expect(sessions[0]).toMatchObject({
      mode: "payment",
      client_reference_id: acc.id,
      metadata: { planId: "professional", accountId: acc.id },
      line_items: [{ quantity: "1", price_data: { currency: "usd", unit_amount: "1520" } }],
    });
    expect(String(sessions[0]?.success_url)).toContain("/api/billing/success");
    expect(sessions[1]?.customer).toBe(sessions[0]?.customer);
  });

  it("charges the full price once the account has paid, and creates subscription-mode sessions for plans", async () => {
    const acc = await newAccount();
    await deliver(event("checkout.session.completed", packSession(acc.id, "starter")));
    expect((await call("/api/checkout", { token: acc.token, body: { planId: "professional" } })).status).toBe(
      200,
    );
    expect((await call("/api/checkout", { token: acc.token, body: { planId: "pro" } })).status).toBe(200);
    const sessions = (await stripeRequests(acc.id)).filter((r) => r.path === "/v1/checkout/sessions");
    expect(sessions[0]?.body).toMatchObject({ line_items: [{ price_data: { unit_amount: "1900" } }] });
    expect(sessions[1]?.body).toMatchObject({
      mode: "subscription",
      client_reference_id: acc.id,
      metadata: { planId: "pro" },
      subscription_data: { metadata: { accountId: acc.id, planId: "pro" } },
      line_items: [{ price_data: { unit_amount: "1500", recurring: { interval: "month" } } }],
    });
  });

  it("limits checkouts per account and per address, before anything reaches Stripe", {
    timeout: 30_000,
  }, async () => {
    const acc = await newAccount();
    for (let i = 0; i < CHECKOUT_LIMITS.perAccount; i++) {
      expect((await call("/api/checkout", { token: acc.token, body: { planId: "starter" } })).status).toBe(
        200,
      );
    }
    const limited = await call("/api/checkout", { token: acc.token, body: { planId: "starter" } });
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ error: { code: "rate_limited" } });
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
    const sessions = (await stripeRequests(acc.id)).filter((r) => r.path === "/v1/checkout/sessions");
    expect(sessions).toHaveLength(CHECKOUT_LIMITS.perAccount);

    // Fresh accounts behind one address share its limit.
    const ip = `203.0.113.${Math.floor(Math.random() * 250) + 1}`;
    const accounts = await Promise.all(Array.from({ length: 4 }, () => newAccount()));
    const statuses: number[] = [];
    for (let i = 0; i < CHECKOUT_LIMITS.perAddress + 1; i++) {
      const who = accounts[i % accounts.length] as (typeof accounts)[number];
      const res = await call("/api/checkout", {
        token: who.token,
        body: { planId: "starter" },
        headers: { "CF-Connecting-IP": ip },
        env: demoEnv(),
      });
      statuses.push(res.status);
    }
    expect(statuses.filter((s) => s === 429)).toHaveLength(1);
    expect(statuses.at(-1)).toBe(429);
  });

  it("answers 502 when Stripe refuses, without recording a checkout", async () => {
    const acc = await newAccount({ idHint: "stripe_down" });
    const res = await call("/api/checkout", { token: acc.token, body: { planId: "starter" } });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: "upstream_error" } });
    const row = await env.DB.prepare("SELECT count(*) AS n FROM checkouts WHERE account_id = ?")
      .bind(acc.id)
      .first<{ n: number }>();
    expect(row?.n).toBe(0);
  });

  it("does not grant anything on the success redirect", async () => {
    const acc = await newAccount();
    const { id } = await (
      await call("/api/checkout", { token: acc.token, body: { planId: "starter" } })
    ).json<{
      id: string;
    }>();
    const page = await call(`/api/billing/success?session_id=${id}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Return to the MyBA extension");
    expect(await availableOf(acc.id)).toBe(0);
    expect((await call("/api/billing/cancel")).status).toBe(200);
  });
});

describe("demo billing (no Stripe keys)", () => {
  it("is refused with 503 on a non-loopback host", async () => {
    const acc = await newAccount();
    const res = await call("/api/checkout", {
      token: acc.token,
      body: { planId: "starter" },
      env: demoEnv(),
      host: "myba.example.com",
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: "unavailable" } });
  });

  it("is off whenever a Stripe key is set, even on loopback", async () => {
    const acc = await newAccount();
    const res = await call("/api/checkout", {
      token: acc.token,
      body: { planId: "starter" },
      env: { ...demoEnv(), STRIPE_SECRET_KEY: "sk_test_half_configured" },
    });
    expect(res.status).toBe(503);
  });

  it("completes a pack purchase through the grant path when Pay is pressed, once", async () => {
    const acc = await newAccount();
    const res = await call("/api/checkout", {
      token: acc.token,
      body: { planId: "professional" },
      env: demoEnv(),
    });
    expect(res.status).toBe(200);
    const { url, id } = await res.json<{ url: string; id: string }>();
    expect(url).toBe(`http://127.0.0.1:8787/api/billing/demo/${id}`);

    const page = await call(new URL(url).pathname, { env: demoEnv() });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Pay");
    expect(html).toContain("$15.20"); // the first-purchase price
    expect(await availableOf(acc.id)).toBe(0);

    // Elsewhere than loopback the demo pages do not exist.
    expect((await call(new URL(url).pathname, { env: demoEnv(), host: "myba.example.com" })).status).toBe(
      404,
    );
    const remote = await call(`${new URL(url).pathname}/pay`, {
      method: "POST",
      env: demoEnv(),
      host: "myba.example.com",
    });
    expect(remote.status).toBe(404);

    const pay = await call(`${new URL(url).pathname}/pay`, { method: "POST", env: demoEnv() });
    expect(pay.status).toBe(303);
    expect(pay.headers.get("Location")).toContain("/api/billing/success");
    await call(`${new URL(url).pathname}/pay`, { method: "POST", env: demoEnv() });

    const me = await (await call("/api/me", { token: acc.token, env: demoEnv() })).json<{
      tokens: { available: number; purchased: number };
    }>();
    expect(me.tokens).toMatchObject({ available: 50, purchased: 50 });
  });

  it("starts a subscription with its first allowance", async () => {
    const acc = await newAccount();
    const { url } = await (
      await call("/api/checkout", { token: acc.token, body: { planId: "pro" }, env: demoEnv() })
    ).json<{ url: string }>();
    await call(`${new URL(url).pathname}/pay`, { method: "POST", env: demoEnv() });
    const me = await (await call("/api/me", { token: acc.token, env: demoEnv() })).json<{
      account: { plan?: string };
      tokens: { available: number; grants: { source: string; expiresAt?: string }[] };
    }>();
    expect(me.account.plan).toBe("pro");
    expect(me.tokens.available).toBe(100);
    expect(me.tokens.grants[0]).toMatchObject({ source: "allowance", expiresAt: expect.any(String) });

    const again = await call("/api/checkout", { token: acc.token, body: { planId: "team" }, env: demoEnv() });
    expect(again.status).toBe(400);
  });

  it("every page has a way back, and the thank-you page confirms +N tokens", async () => {
    const acc = await newAccount();
    const { url, id } = await (
      await call("/api/checkout", { token: acc.token, body: { planId: "professional" }, env: demoEnv() })
    ).json<{ url: string; id: string }>();
    const checkoutPage = await (await call(new URL(url).pathname, { env: demoEnv() })).text();
    expect(checkoutPage).toContain("+50 tokens");
    expect(checkoutPage).toMatch(
      /<a class="secondary" href="\/api\/billing\/cancel" data-testid="demo-cancel">Cancel<\/a>/,
    );

    const cancel = await (await call("/api/billing/cancel", { env: demoEnv() })).text();
    expect(cancel).toContain('data-testid="billing-close"');
    expect(cancel).toContain("window.close()");

    const before = await (await call(`/api/billing/success?session_id=${id}`, { env: demoEnv() })).text();
    expect(before).toContain("+50 tokens");
    expect(before).toContain("being confirmed");

    const pay = await call(`${new URL(url).pathname}/pay`, { method: "POST", env: demoEnv() });
    const thanks = await (await call(pay.headers.get("Location") ?? "", { env: demoEnv() })).text();
    expect(thanks).toContain('<p class="added" data-testid="billing-added">+50 tokens</p>');
    expect(thanks).toContain("in your MyBA balance now");
    expect(thanks).toContain('data-testid="billing-close"');

    // A subscription confirms its monthly tokens; an unknown session gets the plain text, and a way back.
    const sub = await (
      await call("/api/checkout", {
        token: (await newAccount()).token,
        body: { planId: "pro" },
        env: demoEnv(),
      })
    ).json<{ url: string; id: string }>();
    await call(`${new URL(sub.url).pathname}/pay`, { method: "POST", env: demoEnv() });
    const subThanks = await (
      await call(`/api/billing/success?session_id=${sub.id}`, { env: demoEnv() })
    ).text();
    expect(subThanks).toContain("+100 tokens a month");
    expect(subThanks).toContain("in your MyBA balance now");
    const unknown = await (await call("/api/billing/success?session_id=cs_nope", { env: demoEnv() })).text();
    expect(unknown).not.toContain("+");
    expect(unknown).toContain('data-testid="billing-close"');
  });

  it("answers 404 for an unknown demo session", async () => {
    expect(
      (await call("/api/billing/demo/cs_demo_nope/pay", { method: "POST", env: demoEnv() })).status,
    ).toBe(404);
  });
});
