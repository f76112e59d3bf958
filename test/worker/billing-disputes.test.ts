import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { drivePendingEvents } from "../../worker/billing/events";
import { wallet } from "../../worker/wallet/client";
import { reconcile } from "../../worker/wallet/reconcile";
import {
  availableOf,
  charge,
  deliver,
  dispute,
  event,
  newAccount,
  packSession,
  spend,
  tokensOf,
} from "./billing-helpers";

const uid = () => crypto.randomUUID().replaceAll("-", "").slice(0, 16);

/** Buys a pack through a signed webhook; returns its payment intent. */
async function buy(accountId: string, planId: "professional" | "starter" = "professional") {
  const pi = `pi_${uid()}`;
  const amount = planId === "professional" ? 1900 : 500;
  const res = await deliver(
    event("checkout.session.completed", packSession(accountId, planId, { paymentIntent: pi, amount })),
  );
  expect(res.status).toBe(200);
  return pi;
}

async function expectBalanced(accountId: string) {
  expect((await reconcile(env)).mismatches.filter((m) => m.accountId === accountId)).toEqual([]);
}

describe("a chargeback leaves no tokens that were not paid for (decision 008)", () => {
  it("buy A, buy B, spend A's worth, dispute A: the shortfall comes out of B", async () => {
    const acc = await newAccount();
    const a = await buy(acc.id);
    await buy(acc.id);
    await spend(acc.id, 50); // A's 50, burned first
    expect(await availableOf(acc.id)).toBe(50);
    await deliver(event("charge.dispute.created", dispute(a, 1900)));
    expect(await availableOf(acc.id)).toBe(0);
    await expectBalanced(acc.id);
  });

  it("takes only what is there: what was spent beyond the other paid tokens is not recovered", async () => {
    const acc = await newAccount();
    const a = await buy(acc.id);
    await buy(acc.id, "starter"); // 10 tokens
    await spend(acc.id, 45);
    const created = event("charge.dispute.created", dispute(a, 1900));
    const res = await deliver(created);
    expect(await res.json()).toMatchObject({ status: "done" });
    expect(await availableOf(acc.id)).toBe(0);
    const row = await env.DB.prepare("SELECT debited FROM stripe_events WHERE id = ?")
      .bind(created.id)
      .first();
    expect(row).toEqual({ debited: 15 }); // 5 left of A, 10 of B
  });

  it("leaves free and promo tokens alone", async () => {
    const acc = await newAccount();
    const a = await buy(acc.id);
    await spend(acc.id, 50);
    await wallet(env, acc.id).grant({
      key: `promo:${uid()}`,
      source: "promo",
      amount: 5,
      description: "Promo code",
    });
    await deliver(event("charge.dispute.created", dispute(a, 1900)));
    expect(await availableOf(acc.id)).toBe(5);
  });

  it("a refund (ours to give) still takes only from its own purchase", async () => {
    const acc = await newAccount();
    const a = await buy(acc.id);
    await buy(acc.id);
    await spend(acc.id, 50);
    await deliver(event("charge.refunded", charge(a, 1900, 1900)));
    expect(await availableOf(acc.id)).toBe(50);
  });

  it("a won dispute gives back what its chargeback took, the shortfall included", async () => {
    const acc = await newAccount();
    const a = await buy(acc.id);
    await buy(acc.id);
    await spend(acc.id, 50);
    const created = event("charge.dispute.created", dispute(a, 1900));
    await deliver(created);
    expect(await availableOf(acc.id)).toBe(0);
    const won = event("charge.dispute.closed", { ...created.data.object, status: "won" });
    await deliver(won);
    expect(await availableOf(acc.id)).toBe(50);
    await expectBalanced(acc.id);
  });
});

describe("tokens held by running generations when a payment is reversed", () => {
  async function held(accountId: string, amount: number) {
    const hold = await wallet(env, accountId).reserve({ key: `gen-${uid()}`, amount, ttlMs: 60_000 });
    if (!hold.ok) throw new Error(hold.code);
    return hold.holdId;
  }

  it("a chargeback takes them when the generation releases them", async () => {
    const acc = await newAccount();
    const a = await buy(acc.id);
    const holdId = await held(acc.id, 30);
    const created = event("charge.dispute.created", dispute(a, 1900));
    await deliver(created);
    expect(await tokensOf(acc.id)).toMatchObject({ available: 0, held: 30 });

    // The generation fails: its tokens come back, and the chargeback takes them.
    await wallet(env, acc.id).void(holdId);
    await drivePendingEvents(env);
    expect(await tokensOf(acc.id)).toMatchObject({ available: 0, held: 0 });
    const row = await env.DB.prepare("SELECT debited, owed FROM stripe_events WHERE id = ?")
      .bind(created.id)
      .first();
    expect(row).toEqual({ debited: 50, owed: 0 });
    // A redelivery or another cron run takes nothing more.
    await deliver(created);
    await drivePendingEvents(env);
    await expectBalanced(acc.id);
  });

  it("a refund takes what a generation gives back, and a redelivery of the refund does it too", async () => {
    const acc = await newAccount();
    const a = await buy(acc.id);
    const holdId = await held(acc.id, 20);
    const refund = event("charge.refunded", charge(a, 1900, 1900));
    await deliver(refund);
    expect(await tokensOf(acc.id)).toMatchObject({ available: 0, held: 20 });
    // The generation used 5 of its 20: 15 come back, and go.
    const settled = await wallet(env, acc.id).settle({ holdId, amount: 5, description: "usage" });
    expect(settled.ok).toBe(true);
    await deliver(refund);
    expect(await tokensOf(acc.id)).toMatchObject({ available: 0, held: 0 });
    await expectBalanced(acc.id);
  });

  it("what the generation burned is gone: nothing stays owed once nothing is held", async () => {
    const acc = await newAccount();
    const a = await buy(acc.id);
    await buy(acc.id, "starter");
    const holdId = await held(acc.id, 50);
    const created = event("charge.dispute.created", dispute(a, 1900));
    await deliver(created);
    // A's 50 are all held, so the chargeback takes the starter's 10 now and is owed 40 more.
    expect(await tokensOf(acc.id)).toMatchObject({ available: 0, held: 50 });
    await wallet(env, acc.id).settle({ holdId, amount: 50, description: "usage" });
    await drivePendingEvents(env);
    const row = await env.DB.prepare("SELECT debited, owed FROM stripe_events WHERE id = ?")
      .bind(created.id)
      .first();
    expect(row).toEqual({ debited: 10, owed: 0 });
    expect(await availableOf(acc.id)).toBe(0);
  });
});
