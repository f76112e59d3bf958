import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { listPlans, PlanKindConflict, plansUpdateInput, updatePlans } from "../../worker/billing/plans";
import { db } from "../../worker/db/client";
import { availableOf, call, deliver, event, newAccount, packSession } from "./billing-helpers";

const d = () => db(env.DB);

describe("plan administration", () => {
  it("replaces the packs: edits show in GET /api/plans, unlisted packs are retired, not deleted", async () => {
    const input = plansUpdateInput.parse({
      packs: [
        { id: "starter", name: "Starter", tokens: 12, price: { amount: 600, currency: "USD" } },
        { id: "mega", name: "Mega", tokens: 500, price: { amount: 9900 }, popular: true },
      ],
    });
    const all = await updatePlans(d(), input);
    expect(all.packs.map((p) => [p.id, p.active])).toEqual([
      ["starter", true],
      ["mega", true],
      ["professional", false],
      ["enterprise", false],
    ]);
    expect(all.subscriptions.map((s) => s.id)).toEqual(["pro", "team"]);

    const shown = await (await call("/api/plans")).json<{ packs: { id: string; tokens: number }[] }>();
    expect(shown.packs.map((p) => [p.id, p.tokens])).toEqual([
      ["starter", 12],
      ["mega", 500],
    ]);

    // A retired pack cannot be bought, but a paid session for it still grants its tokens.
    const acc = await newAccount();
    expect((await call("/api/checkout", { token: acc.token, body: { planId: "enterprise" } })).status).toBe(
      404,
    );
    await deliver(event("checkout.session.completed", packSession(acc.id, "enterprise")));
    expect(await availableOf(acc.id)).toBe(200);
  });

  it("keeps a plan id's kind and refuses bad input", async () => {
    const input = plansUpdateInput.parse({
      subscriptions: [{ id: "starter", name: "Starter sub", monthlyTokens: 5, price: { amount: 500 } }],
    });
    await expect(updatePlans(d(), input)).rejects.toBeInstanceOf(PlanKindConflict);
    expect(
      plansUpdateInput.safeParse({ packs: [{ id: "x", name: "X", tokens: 0, price: { amount: 500 } }] })
        .success,
    ).toBe(false);
    expect(
      plansUpdateInput.safeParse({
        packs: [{ id: "dup", name: "A", tokens: 1, price: { amount: 500 } }],
        subscriptions: [{ id: "dup", name: "B", monthlyTokens: 1, price: { amount: 500 } }],
      }).success,
    ).toBe(false);
    const subs = (await listPlans(d())).subscriptions;
    expect(subs.map((s) => s.id)).toEqual(["pro", "team"]);
  });
});
