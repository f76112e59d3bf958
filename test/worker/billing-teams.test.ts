import { env } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { activePlanOf } from "../../worker/billing/plans";
import { db } from "../../worker/db/client";
import type { TeamRole } from "../../worker/db/schema";
import {
  availableOf,
  call,
  charge,
  deliver,
  demoEnv,
  dispute,
  event,
  newAccount,
  packSession,
  spend,
  type TestAccount,
} from "./billing-helpers";

const uid = () => crypto.randomUUID().replaceAll("-", "").slice(0, 20);

/** A team owned by a new account, made directly in D1 (the teams routes are another area's). */
async function team(): Promise<{ id: string; owner: TestAccount }> {
  const owner = await newAccount();
  const id = `team_${uid()}`;
  await env.DB.prepare("INSERT INTO teams (id, name, created_by, created_at) VALUES (?, 'Platform', ?, ?)")
    .bind(id, owner.id, Date.now())
    .run();
  await join(id, owner, "owner");
  return { id, owner };
}

async function join(teamId: string, acc: TestAccount, role: TeamRole) {
  await env.DB.prepare(
    "INSERT INTO team_members (team_id, account_id, role, monthly_limit, joined_at) VALUES (?, ?, ?, NULL, ?)",
  )
    .bind(teamId, acc.id, role, Date.now())
    .run();
}

const checkout = (token: string, body: Record<string, unknown>, demo = false) =>
  call("/api/checkout", { token, body, ...(demo ? { env: demoEnv() } : {}) });

/** Pays a Stripe checkout the way its webhook would: the session as Stripe sends it once paid. */
async function paySession(sessionId: string, accountId: string, planId: string, amount: number) {
  const pi = `pi_${uid()}`;
  const res = await deliver(
    event(
      "checkout.session.completed",
      packSession(accountId, planId, { sessionId, paymentIntent: pi, amount }),
    ),
  );
  expect(res.status).toBe(200);
  return pi;
}

describe("buying for a team", () => {
  it("owners and admins may; a member gets 403 and a non-member 404, and nothing is sent to Stripe", async () => {
    const t = await team();
    const admin = await newAccount();
    const member = await newAccount();
    const outsider = await newAccount();
    await join(t.id, admin, "admin");
    await join(t.id, member, "member");

    expect((await checkout(t.owner.token, { planId: "starter", teamId: t.id })).status).toBe(200);
    expect((await checkout(admin.token, { planId: "starter", teamId: t.id })).status).toBe(200);
    const asMember = await checkout(member.token, { planId: "starter", teamId: t.id });
    expect(asMember.status).toBe(403);
    expect(await asMember.json()).toMatchObject({ error: { code: "forbidden" } });
    const asOutsider = await checkout(outsider.token, { planId: "starter", teamId: t.id });
    expect(asOutsider.status).toBe(404);
    expect(await asOutsider.json()).toMatchObject({ error: { code: "not_found" } });
    // A team that does not exist answers like one the caller is not in.
    const none = await checkout(outsider.token, { planId: "starter", teamId: `team_${uid()}` });
    expect({ status: none.status, body: await none.json() }).toEqual({
      status: asOutsider.status,
      body: await (await checkout(outsider.token, { planId: "starter", teamId: t.id })).json(),
    });

    const sent = await (await fetch(`${inject("fakes").stripe}/__fake/requests`)).json<{ body: unknown }[]>();
    const text = JSON.stringify(sent);
    expect(text).not.toContain(member.id);
    expect(text).not.toContain(outsider.id);
  });

  it("a team pack goes to the team's wallet at the full price, and its refund claws back from there", async () => {
    const t = await team();
    const res = await checkout(t.owner.token, { planId: "professional", teamId: t.id });
    const { id } = await res.json<{ id: string }>();
    const row = await env.DB.prepare("SELECT wallet_id, amount, discounted FROM checkouts WHERE id = ?")
      .bind(id)
      .first();
    // The first-purchase discount is personal: a team pays the list price.
    expect(row).toEqual({ wallet_id: t.id, amount: 1900, discounted: 0 });

    const pi = await paySession(id, t.owner.id, "professional", 1900);
    expect(await availableOf(t.id)).toBe(50);
    expect(await availableOf(t.owner.id)).toBe(0);
    const purchase = await env.DB.prepare(
      "SELECT wallet_id, account_id FROM purchases WHERE payment_intent_id = ?",
    )
      .bind(pi)
      .first();
    expect(purchase).toEqual({ wallet_id: t.id, account_id: t.owner.id });

    // The owner's own tokens are not touched by the team's refund.
    await paySession(`cs_test_${uid()}`, t.owner.id, "starter", 500);
    expect(await availableOf(t.owner.id)).toBe(10);
    await deliver(event("charge.refunded", charge(pi, 1900, 1900)));
    expect(await availableOf(t.id)).toBe(0);
    expect(await availableOf(t.owner.id)).toBe(10);
  });

  it("a chargeback's shortfall comes from the team's other paid tokens, not the buyer's", async () => {
    const t = await team();
    const first = await (await checkout(t.owner.token, { planId: "professional", teamId: t.id })).json<{
      id: string;
    }>();
    const second = await (await checkout(t.owner.token, { planId: "professional", teamId: t.id })).json<{
      id: string;
    }>();
    const pi = await paySession(first.id, t.owner.id, "professional", 1900);
    await paySession(second.id, t.owner.id, "professional", 1900);
    await paySession(`cs_test_${uid()}`, t.owner.id, "starter", 500); // the owner's own
    await spend(t.id, 50);
    await deliver(event("charge.dispute.created", dispute(pi, 1900)));
    expect(await availableOf(t.id)).toBe(0);
    expect(await availableOf(t.owner.id)).toBe(10);
  });

  it("a team subscription's allowance goes to the team; the buyer's own plan and subscription are separate", async () => {
    const t = await team();
    const { url } = await (await checkout(t.owner.token, { planId: "team", teamId: t.id }, true)).json<{
      url: string;
    }>();
    await call(`${new URL(url).pathname}/pay`, { method: "POST", env: demoEnv() });
    expect(await availableOf(t.id)).toBe(500);
    expect(await availableOf(t.owner.id)).toBe(0);
    const me = await (await call("/api/me", { token: t.owner.token })).json<{ account: { plan?: string } }>();
    expect(me.account.plan).toBeUndefined();

    // Spending from the team's wallet gets the Team plan's features, whatever the member's own plan.
    expect(await activePlanOf(db(env.DB), t.id)).toBe("team");
    expect(await activePlanOf(db(env.DB), t.owner.id)).toBeNull();

    // A second subscription for the team is refused; the owner may still subscribe for themself.
    expect((await checkout(t.owner.token, { planId: "team", teamId: t.id }, true)).status).toBe(400);
    expect((await checkout(t.owner.token, { planId: "pro" }, true)).status).toBe(200);
  });
});
