import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { adminFetch, adminJson, makeAccount } from "./admin-helpers";

interface PromoCode {
  code: string;
  tokens: number;
  maxRedemptions: number | null;
  expiresAt: string | null;
  redemptions: number;
}

interface Audit {
  items: { action: string; target: string; before: unknown; after: unknown }[];
}

interface Pricing {
  features: Record<string, { baseCost: number }>;
  packs: {
    id: string;
    name: string;
    tokens: number;
    price: { amount: number; currency: string };
    active?: boolean;
  }[];
  subscriptions: { id: string; monthlyTokens: number; active?: boolean }[];
}

describe("promo codes", () => {
  it("creates, lists and deletes a code, each write audited", async () => {
    const expiresAt = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const res = await adminFetch("/admin/promo-codes", {
      method: "POST",
      json: { code: "launch-week", tokens: 10, maxRedemptions: 100, expiresAt },
    });
    expect(res.status).toBe(201);
    const { promoCode } = await res.json<{ promoCode: PromoCode }>();
    expect(promoCode).toMatchObject({ code: "LAUNCH-WEEK", tokens: 10, maxRedemptions: 100, redemptions: 0 });
    expect(promoCode.expiresAt).toBe(expiresAt);

    const list = await adminJson<{ items: PromoCode[] }>("/admin/promo-codes");
    expect(list.items).toEqual([expect.objectContaining({ code: "LAUNCH-WEEK", redemptions: 0 })]);

    const del = await adminJson<{ promoCode: PromoCode }>("/admin/promo-codes/launch-week", {
      method: "DELETE",
    });
    expect(del.promoCode.code).toBe("LAUNCH-WEEK");
    expect((await adminJson<{ items: PromoCode[] }>("/admin/promo-codes")).items).toEqual([]);

    const audit = await adminJson<Audit>("/admin/audit?target=LAUNCH-WEEK");
    expect(audit.items.map((e) => [e.action, e.before === null, e.after === null])).toEqual([
      ["promo.delete", false, true],
      ["promo.create", true, false],
    ]);
  });

  it("refuses bad codes with 400, an existing one too, and changes nothing", async () => {
    await adminJson("/admin/promo-codes", { method: "POST", json: { code: "TAKEN", tokens: 5 } });
    for (const json of [
      { code: "x", tokens: 5 },
      { code: "has space", tokens: 5 },
      { code: "ZERO", tokens: 0 },
      { code: "MANY", tokens: 1e9 },
      { code: "PAST", tokens: 5, expiresAt: "2001-01-01T00:00:00Z" },
      { code: "BADDATE", tokens: 5, expiresAt: "tomorrow" },
      { code: "CAP", tokens: 5, maxRedemptions: 0 },
      { code: "taken", tokens: 50 },
    ]) {
      const res = await adminFetch("/admin/promo-codes", { method: "POST", json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "invalid_request" } });
    }
    const list = await adminJson<{ items: PromoCode[] }>("/admin/promo-codes");
    expect(list.items.map((p) => [p.code, p.tokens])).toEqual([["TAKEN", 5]]);
    const audit = await adminJson<Audit>("/admin/audit?action=promo.create");
    // Only the one that worked (LAUNCH-WEEK comes from the test above).
    expect(audit.items.map((e) => e.target).filter((t) => t !== "LAUNCH-WEEK")).toEqual(["TAKEN"]);
  });

  it("answers 404 for deleting an unknown code", async () => {
    const res = await adminFetch("/admin/promo-codes/NOPE-NOPE", { method: "DELETE" });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
  });
});

describe("pricing", () => {
  it("reads feature costs, packs and subscriptions", async () => {
    const p = await adminJson<Pricing>("/admin/pricing");
    expect(Object.keys(p.features).sort()).toEqual(["generate", "refine", "subtasks"]);
    expect(p.features.generate?.baseCost).toBeGreaterThan(0);
    expect(p.packs.length).toBeGreaterThan(0);
    expect(p.subscriptions.length).toBeGreaterThan(0);
  });

  it("updates feature costs and packs, audited with before and after", async () => {
    const before = await adminJson<Pricing>("/admin/pricing");
    const pack = { id: "mega", name: "Mega pack", tokens: 1000, price: { amount: 4900, currency: "usd" } };
    const after = await adminJson<Pricing>("/admin/pricing", {
      method: "PUT",
      json: {
        features: { subtasks: { baseCost: 3 } },
        packs: [...before.packs.map(({ id, name, tokens, price }) => ({ id, name, tokens, price })), pack],
      },
    });
    expect(after.features.subtasks?.baseCost).toBe(3);
    expect(after.features.generate).toEqual(before.features.generate);
    expect(after.packs.find((p) => p.id === "mega")).toMatchObject({ tokens: 1000, price: { amount: 4900 } });
    expect(after.subscriptions).toEqual(before.subscriptions);
    expect(await adminJson<Pricing>("/admin/pricing")).toEqual(after);

    const [entry] = (await adminJson<Audit>("/admin/audit?target=pricing")).items;
    expect(entry).toMatchObject({ action: "pricing.update", before, after });
  });

  it("shows buyers a new pack at once", async () => {
    const current = await adminJson<Pricing>("/admin/pricing");
    const packs = current.packs
      .filter((p) => p.active !== false)
      .map(({ id, name, tokens, price }) => ({ id, name, tokens, price }));
    await adminJson("/admin/pricing", {
      method: "PUT",
      json: { packs: [...packs, { id: "flash", name: "Flash sale", tokens: 77, price: { amount: 99 } }] },
    });
    const res = await SELF.fetch("http://w/api/plans");
    const plans = await res.json<{ packs: { id: string; tokens: number }[] }>();
    expect(plans.packs).toContainEqual(expect.objectContaining({ id: "flash", tokens: 77 }));
  });

  it("charges the next generation at the new cost", async () => {
    const user = await makeAccount({ email: "pricing@example.com", tokens: 10 });
    const charge = async (key: string) => {
      const res = await SELF.fetch("http://localhost/api/generate", {
        method: "POST",
        headers: {
          Authorization: `Bearer ${user.token}`,
          "Content-Type": "application/json",
          "Idempotency-Key": key,
        },
        body: JSON.stringify({
          site: "jira",
          feature: "refine",
          issueType: "task",
          prompt: "Tidy this ticket",
        }),
      });
      expect(res.status).toBe(200);
      return (await res.json<{ charged: number }>()).charged;
    };
    await adminJson("/admin/pricing", { method: "PUT", json: { features: { refine: { baseCost: 4 } } } });
    expect(await charge("pricing-next-0001")).toBe(4);
    await adminJson("/admin/pricing", { method: "PUT", json: { features: { refine: { baseCost: 1 } } } });
    expect(await charge("pricing-next-0002")).toBe(1);
    const detail = await adminJson<{ tokens: { available: number } }>(`/admin/accounts/${user.id}`);
    expect(detail.tokens.available).toBe(5);
  });

  it("refuses invalid pricing with 400 and changes nothing", async () => {
    const before = await adminJson<Pricing>("/admin/pricing");
    for (const json of [
      {},
      { features: { generate: { baseCost: 0 } } },
      { features: { teleport: { baseCost: 1 } } },
      { features: { generate: { baseCost: 1.5 } } },
      { packs: [{ id: "Bad Id", name: "x", tokens: 1, price: { amount: 100 } }] },
      { packs: [{ id: "neg", name: "x", tokens: -1, price: { amount: 100 } }] },
      { packs: [{ id: "cheap", name: "x", tokens: 1, price: { amount: 1 } }] },
      // A pack id reused as a subscription.
      { subscriptions: [{ id: before.packs[0]?.id, name: "x", monthlyTokens: 5, price: { amount: 500 } }] },
      { features: { generate: { baseCost: 2 } }, packs: "lots" },
      { prices: {} },
    ]) {
      const res = await adminFetch("/admin/pricing", { method: "PUT", json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "invalid_request" } });
    }
    expect(await adminJson<Pricing>("/admin/pricing")).toEqual(before);
  });
});

describe("a blocked account", () => {
  it("cannot generate or redeem, and can again once unblocked", async () => {
    const user = await makeAccount({ email: "blocked@example.com", tokens: 5 });
    await adminJson("/admin/promo-codes", { method: "POST", json: { code: "BLOCKED-TEST", tokens: 3 } });
    await adminJson(`/admin/accounts/${user.id}/block`, { method: "POST" });
    const auth = { Authorization: `Bearer ${user.token}`, "Content-Type": "application/json" };

    const gen = await SELF.fetch("http://localhost/api/generate", {
      method: "POST",
      headers: { ...auth, "Idempotency-Key": "blocked-gen-0001" },
      body: JSON.stringify({ site: "jira", feature: "generate", issueType: "bug", prompt: "Login fails" }),
    });
    expect(gen.status).toBe(403);
    expect(await gen.json()).toMatchObject({ error: { code: "forbidden" } });

    const redeem = await SELF.fetch("http://w/api/promo/redeem", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ code: "BLOCKED-TEST" }),
    });
    expect(redeem.status).toBe(403);
    expect(await redeem.json()).toMatchObject({ error: { code: "forbidden" } });
    const detail = await adminJson<{ tokens: { available: number } }>(`/admin/accounts/${user.id}`);
    expect(detail.tokens.available).toBe(5);

    await adminJson(`/admin/accounts/${user.id}/unblock`, { method: "POST" });
    const again = await SELF.fetch("http://localhost/api/generate", {
      method: "POST",
      headers: { ...auth, "Idempotency-Key": "blocked-gen-0002" },
      body: JSON.stringify({ site: "jira", feature: "generate", issueType: "bug", prompt: "Login fails" }),
    });
    expect(again.status).toBe(200);
    const redeemed = await SELF.fetch("http://w/api/promo/redeem", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ code: "BLOCKED-TEST" }),
    });
    expect(redeemed.status).toBe(200);
    expect(await redeemed.json()).toMatchObject({ granted: 3 });
    const after = await adminJson<{ tokens: { available: number }; stats: { promoRedemptions: unknown[] } }>(
      `/admin/accounts/${user.id}`,
    );
    expect(after.stats.promoRedemptions).toEqual([
      expect.objectContaining({ code: "BLOCKED-TEST", tokens: 3 }),
    ]);
    const codes = await adminJson<{ items: PromoCode[] }>("/admin/promo-codes");
    expect(codes.items.find((p) => p.code === "BLOCKED-TEST")?.redemptions).toBe(1);
  });
});
