import { env, runInDurableObject } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { forgetSeenPricing } from "../../worker/billing/pricing";
import { runScheduled } from "../../worker/cron";
import { db } from "../../worker/db/client";
import { featurePrices, subscriptions, teamMembers } from "../../worker/db/schema";
import { CHARGE_UNCONFIRMED } from "../../worker/routes/generate";
import { wallet } from "../../worker/wallet/client";
import { recordById } from "../../worker/wallet/records";
import {
  balance,
  fundedAccount,
  generate,
  generationRows,
  ledger,
  metadataRows,
  parseSse,
  readUntil,
  teamWith,
  ticketBody,
  upstream,
} from "./generate-helpers";

/** Removes a member the way DELETE /api/teams/:id/members does: the team's wallet first, then D1. */
async function removeMember(teamId: string, accountId: string) {
  await wallet(env, teamId).setMember({ accountId, removed: true });
  await db(env.DB)
    .delete(teamMembers)
    .where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.accountId, accountId)));
}

/** Sets the team wallet's clock (only the wallet's; the test's own is untouched). */
const walletClockAt = (teamId: string, iso: string) =>
  wallet(env, teamId).stub.setFaults({ clockOffsetMs: Date.parse(iso) - Date.now() });

/** A team generation whose settle answers are all lost (and, with `d1Down`, the team's D1 batch fails). */
async function chargeNobodyHeard(d1Down: boolean) {
  const member = await fundedAccount(0);
  const teamId = await teamWith(10, { [member.id]: null });
  const team = wallet(env, teamId);
  await team.stub.setFaults({ loseAnswers: { op: "settle", times: 10 }, ...(d1Down ? { d1: "down" } : {}) });
  const { res, settled } = await generate(
    upstream("fake/ok").env,
    member.token,
    ticketBody({ wallet: teamId }),
  );
  await settled();
  expect(await res.json()).toMatchObject({ charged: 1 });
  return { member, teamId, team };
}

describe("POST /api/generate paid by a team wallet", () => {
  it("charges the team, reports the team's tokens and records who paid", async () => {
    const member = await fundedAccount(2);
    const teamId = await teamWith(10, { [member.id]: null });
    const up = upstream("fake/ok");
    const { res, settled } = await generate(up.env, member.token, ticketBody({ wallet: teamId }), {
      sse: true,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Tokens-Remaining")).toBe("9");
    const events = parseSse(await res.text());
    await settled();
    expect(events.at(-1)).toMatchObject({ event: "done", data: { charged: 1, tokens: { available: 9 } } });
    expect((await balance(teamId)).available).toBe(9);
    expect((await balance(member.id)).available).toBe(2);
    const [row] = await generationRows(member.id);
    expect(row).toMatchObject({ walletId: teamId, accountId: member.id, charged: 1, status: "succeeded" });
    const usage = (await ledger(teamId)).filter((e) => e.type === "usage");
    expect(usage).toMatchObject([{ amount: -1, memberId: member.id, generationId: row?.id }]);
  });

  it("applies the team's plan, not the member's, to a feature limited to plans", async () => {
    const member = await fundedAccount(3);
    const teamId = await teamWith(10, { [member.id]: null });
    const d = db(env.DB);
    await d
      .insert(featurePrices)
      .values({ feature: "subtasks", baseCost: 2, plans: ["team"], updatedAt: new Date() });
    forgetSeenPricing();
    try {
      const up = upstream("fake/ok");
      const body = ticketBody({ feature: "subtasks" });
      // Personally the member has no plan: refused. The team has none yet either.
      for (const b of [body, { ...body, wallet: teamId }]) {
        const { res } = await generate(up.env, member.token, b);
        expect(res.status).toBe(403);
        expect(await res.json()).toMatchObject({ error: { code: "feature_not_in_plan" } });
      }
      await d.insert(subscriptions).values({
        id: `sub_test_${crypto.randomUUID()}`,
        accountId: member.id,
        walletId: teamId,
        planId: "team",
        status: "active",
        createdAt: new Date(),
      });
      // As the subscription's webhook does: D1 first, then the team's wallet (it answers the plan).
      await wallet(env, teamId).setOwnerState({ plan: "team" });
      const team = await generate(up.env, member.token, { ...body, wallet: teamId });
      expect(team.res.status).toBe(200);
      await team.settled();
      expect((await balance(teamId)).available).toBe(8);
      // The team's subscription gives the member nothing when they pay themself.
      const own = await generate(up.env, member.token, body);
      expect(own.res.status).toBe(403);
      expect((await balance(member.id)).available).toBe(3);
    } finally {
      await d.delete(featurePrices);
      forgetSeenPricing();
    }
  });

  it("refuses a non-member with 403 forbidden before any hold or model call", async () => {
    const member = await fundedAccount(0);
    const stranger = await fundedAccount(3);
    const teamId = await teamWith(10, { [member.id]: null });
    const up = upstream("fake/ok");
    for (const target of [teamId, "team_doesnotexist000", "acc_someoneelse"]) {
      const { res } = await generate(up.env, stranger.token, ticketBody({ wallet: target }));
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: "forbidden" } });
    }
    expect(await up.requests()).toEqual([]);
    expect(await balance(teamId)).toMatchObject({ available: 10, held: 0 });
    expect((await balance(stranger.id)).available).toBe(3);
    expect(await generationRows(stranger.id)).toEqual([]);
  });

  it("gives a member with limit L exactly L successes of 20 concurrent requests; the rest 402 member_limit_reached", async () => {
    const member = await fundedAccount(0);
    const teamId = await teamWith(100, { [member.id]: 5 });
    const up = upstream("fake/ok");
    const runs = await Promise.all(
      Array.from({ length: 20 }, () => generate(up.env, member.token, ticketBody({ wallet: teamId }))),
    );
    await Promise.all(runs.map((r) => r.settled()));
    const statuses = runs.map((r) => r.res.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 402)).toHaveLength(15);
    const refused = runs.find((r) => r.res.status === 402);
    const body = await refused?.res.json<{ error: Record<string, unknown> }>();
    expect(body?.error).toMatchObject({ code: "member_limit_reached", limit: 5 });
    expect(Number(body?.error.spent)).toBeGreaterThanOrEqual(0);
    expect(Date.parse(String(body?.error.resetsAt))).toBeGreaterThan(Date.now());
    // Only the admitted ones reached the model; the team paid exactly L.
    expect(await up.requests()).toHaveLength(5);
    expect(await balance(teamId)).toMatchObject({ available: 95, held: 0 });
    expect((await generationRows(member.id)).map((r) => r.status)).toEqual(Array(5).fill("succeeded"));
  });

  it("lets a removed member's running generation settle, and refuses their next one with 403", async () => {
    const member = await fundedAccount(0);
    const teamId = await teamWith(10, { [member.id]: null });
    const up = upstream("fake/slow");
    const first = await generate(up.env, member.token, ticketBody({ wallet: teamId }), { sse: true });
    const reader = (first.res.body as ReadableStream<Uint8Array>).getReader();
    await readUntil(reader, (events) => events.some((e) => e.event === "delta"));

    await removeMember(teamId, member.id);
    const next = await generate(up.env, member.token, ticketBody({ wallet: teamId }));
    expect(next.res.status).toBe(403);

    const rest = await readUntil(reader, (events) =>
      events.some((e) => e.event === "done" || e.event === "error"),
    );
    await first.settled();
    expect(rest.at(-1)).toMatchObject({ event: "done", data: { charged: 1 } });
    expect(await balance(teamId)).toMatchObject({ available: 9, held: 0 });
    expect(await up.requests()).toHaveLength(1);
  }, 20_000);

  it("gives the limit back at the start of the next UTC month (the wallet's clock)", async () => {
    const member = await fundedAccount(0);
    const teamId = await teamWith(10, { [member.id]: 2 });
    const up = upstream("fake/ok");
    await walletClockAt(teamId, "2027-01-31T23:50:00Z");
    for (let i = 0; i < 2; i++) {
      const r = await generate(up.env, member.token, ticketBody({ wallet: teamId }));
      expect(r.res.status).toBe(200);
      await r.settled();
    }
    const refused = await generate(up.env, member.token, ticketBody({ wallet: teamId }));
    expect(refused.res.status).toBe(402);
    expect(await refused.res.json()).toMatchObject({
      error: { code: "member_limit_reached", limit: 2, spent: 2, resetsAt: "2027-02-01T00:00:00.000Z" },
    });

    await walletClockAt(teamId, "2027-02-01T00:00:05Z");
    const renewed = await generate(up.env, member.token, ticketBody({ wallet: teamId }));
    expect(renewed.res.status).toBe(200);
    await renewed.settled();
    expect((await balance(teamId)).available).toBe(7);
  });

  it("confirms a team charge nobody heard from the team's entry that carries it, with no row beside it", async () => {
    const { member, teamId, team } = await chargeNobodyHeard(false);
    await team.stub.setFaults({ loseAnswers: null });
    expect((await balance(teamId)).available).toBe(9);
    // The team's usage entry is the generation's one D1 row (decision 025)…
    const [usage] = (await ledger(teamId)).filter((e) => e.type === "usage");
    expect(usage).toMatchObject({
      amount: -1,
      generationRollup: 2,
      accountId: member.id,
      memberId: member.id,
    });
    expect(await metadataRows(member.id)).toEqual([]);
    const [row] = await generationRows(member.id);
    expect(row).toMatchObject({ id: usage?.generationId, walletId: teamId, charged: 1, errorCode: null });
    // …and the member's record learnt from it that the charge was made: nothing is left for the cron.
    const record = await runInDurableObject(wallet(env, member.id).stub, async (_instance, state) =>
      recordById(state.storage.sql, usage?.generationId as string),
    );
    expect(record).toMatchObject({ charged: 1, error_code: null, status: "succeeded", d1_synced: 1 });
    expect((await runScheduled(env)).confirmed).toBe(0);
  });

  it("replaces a row written before the team's entry reached D1, and confirms the member's record", async () => {
    const { member, teamId, team } = await chargeNobodyHeard(true);
    // The member's row went first, marked unconfirmed: the team's entry is still in its outbox.
    const [row] = await metadataRows(member.id);
    expect(row).toMatchObject({ walletId: teamId, charged: 1, errorCode: CHARGE_UNCONFIRMED });
    expect((await ledger(teamId)).filter((e) => e.type === "usage")).toEqual([]);

    await team.stub.setFaults({ loseAnswers: null, d1: "ok" });
    await team.stub.sweep();
    const [usage] = (await ledger(teamId)).filter((e) => e.type === "usage");
    expect(usage).toMatchObject({ generationId: row?.id, generationRollup: 2, accountId: member.id });
    expect(await metadataRows(member.id)).toEqual([]);
    expect(await generationRows(member.id)).toHaveLength(1);
    await vi.waitFor(async () => {
      const record = await runInDurableObject(wallet(env, member.id).stub, async (_instance, state) =>
        recordById(state.storage.sql, row?.id as string),
      );
      expect(record).toMatchObject({ charged: 1, error_code: null, status: "succeeded" });
    });
  });
});
