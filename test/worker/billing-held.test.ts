import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { drivePendingEvents } from "../../worker/billing/events";
import { reconcile } from "../../worker/wallet/reconcile";
import { charge, deliver, dispute, event, newAccount, packSession, tokensOf } from "./billing-helpers";
import { generate, readUntil, ticketBody, upstream } from "./generate-helpers";

/**
 * Tokens a running generation holds when its purchase is refunded or
 * disputed are taken the moment the generation releases them (decision 008),
 * not at the next cron run: in between they could be spent again.
 */
const uid = () => crypto.randomUUID().replaceAll("-", "").slice(0, 16);

async function buyPack(accountId: string) {
  const pi = `pi_${uid()}`;
  const res = await deliver(
    event(
      "checkout.session.completed",
      packSession(accountId, "professional", { paymentIntent: pi, amount: 1900 }),
    ),
  );
  expect(res.status).toBe(200);
  return pi;
}

/** Starts a generation and returns once it streams (its hold is open), with what ends it. */
async function running(token: string, model: string) {
  const gen = await generate(upstream(model).env, token, ticketBody(), { sse: true });
  expect(gen.res.status).toBe(200);
  const reader = (gen.res.body as ReadableStream<Uint8Array>).getReader();
  await readUntil(reader, (events) => events.some((e) => e.event === "delta"));
  return {
    finished: async () => {
      const rest = await readUntil(reader, () => false);
      await gen.settled();
      return rest.at(-1);
    },
  };
}

async function eventRow(id: string) {
  return env.DB.prepare("SELECT status, debited, owed FROM stripe_events WHERE id = ?").bind(id).first();
}

async function expectBalanced(accountId: string) {
  expect((await reconcile(env)).mismatches.filter((m) => m.accountId === accountId)).toEqual([]);
}

describe("a reversal while a generation holds tokens", () => {
  it("refund, then the generation fails: what it held is gone at once and cannot be spent", async () => {
    const acc = await newAccount();
    const pi = await buyPack(acc.id);
    const gen = await running(acc.token, "fake/stall");
    const held = (await tokensOf(acc.id)).held;
    expect(held).toBeGreaterThan(0);
    const refund = event("charge.refunded", charge(pi, 1900, 1900));
    expect(await (await deliver(refund)).json()).toMatchObject({ status: "done" });
    expect(await tokensOf(acc.id)).toMatchObject({ available: 0, held });
    expect(await eventRow(refund.id)).toMatchObject({ debited: 50 - held, owed: held });

    // The model stalls, the generation ends as an error and charges nothing.
    expect(await gen.finished()).toMatchObject({ event: "error", data: { charged: 0 } });
    // No cron run, no redelivery: the released tokens went to the refund.
    expect(await tokensOf(acc.id)).toMatchObject({ available: 0, held: 0, balance: 0 });
    const next = await generate(upstream("fake/ok").env, acc.token, ticketBody());
    expect(next.res.status).toBe(402);
    await next.settled();

    // The cron and a redelivery only note what the wallet took; they take nothing more.
    await drivePendingEvents(env);
    await deliver(refund);
    await drivePendingEvents(env);
    expect(await eventRow(refund.id)).toMatchObject({ status: "done", debited: 50, owed: 0 });
    expect(await tokensOf(acc.id)).toMatchObject({ balance: 0 });
    await expectBalanced(acc.id);
  });

  it("dispute, then the generation succeeds: nothing is left to spend; a won dispute gives back all it took", async () => {
    const acc = await newAccount();
    const pi = await buyPack(acc.id);
    const gen = await running(acc.token, "fake/slow");
    const held = (await tokensOf(acc.id)).held;
    const created = event("charge.dispute.created", dispute(pi, 1900));
    await deliver(created);
    expect(await tokensOf(acc.id)).toMatchObject({ available: 0, held });

    const done = await gen.finished();
    expect(done).toMatchObject({ event: "done" });
    const charged = Number(done?.data.charged);
    expect(charged).toBeGreaterThan(0);
    expect(charged).toBeLessThanOrEqual(held);
    expect(await tokensOf(acc.id)).toMatchObject({ available: 0, held: 0, balance: 0 });

    // The win arrives before any cron run: it notes what the debt took and gives all of it back.
    const won = event("charge.dispute.closed", { ...created.data.object, status: "won" });
    expect(await (await deliver(won)).json()).toMatchObject({ status: "done" });
    expect(await eventRow(created.id)).toMatchObject({ debited: 50 - charged, owed: 0 });
    expect(await tokensOf(acc.id)).toMatchObject({ available: 50 - charged, held: 0 });
    await expectBalanced(acc.id);
    // The slow model alone streams for 4 s: room for the rest on a busy machine.
  }, 15_000);
});
