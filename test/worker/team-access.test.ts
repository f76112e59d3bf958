import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../worker/lib/ids";
import { wallet } from "../../worker/wallet/client";
import { addMember, api, createTeam, fundTeam, type User, user } from "./team-helpers";

/**
 * A team wallet answers who may spend from it out of its own list of members
 * (worker/wallet/access.ts), kept current by the member routes; the generate
 * route reads no D1 membership (docs/decisions/017). Every request here goes
 * through the Worker's own fetch on a loopback host (the mock model).
 */

const memberPath = (teamId: string, accountId: string) => `/api/teams/${teamId}/members/${accountId}`;

async function spend(who: User, teamId: string) {
  const res = await SELF.fetch("http://localhost/api/generate", {
    method: "POST",
    headers: {
      Authorization: `Bearer ${who.token}`,
      "Content-Type": "application/json",
      "Idempotency-Key": crypto.randomUUID(),
    },
    body: JSON.stringify({ site: "jira", issueType: "bug", prompt: "Export fails", wallet: teamId }),
  });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, body };
}

async function team(tokens = 50) {
  const owner = await user("owner");
  const member = await user("member");
  const teamId = await createTeam(owner);
  await addMember(owner, teamId, member);
  await fundTeam(teamId, tokens);
  return { owner, member, teamId };
}

describe("team membership takes effect at once on /api/generate", () => {
  it("a member removed by an owner is refused with 403 on their next generation; rejoining lets them in", async () => {
    const { owner, member, teamId } = await team();
    expect((await spend(member, teamId)).status).toBe(200);
    expect((await api("DELETE", memberPath(teamId, member.id), owner.token)).status).toBe(200);
    const refused = await spend(member, teamId);
    expect(refused.status).toBe(403);
    expect(refused.body.error?.code).toBe("forbidden");
    await addMember(owner, teamId, member);
    expect((await spend(member, teamId)).status).toBe(200);
  });

  it("a member who leaves is refused at once", async () => {
    const { member, teamId } = await team();
    expect((await spend(member, teamId)).status).toBe(200);
    expect((await api("DELETE", memberPath(teamId, member.id), member.token)).status).toBe(200);
    expect((await spend(member, teamId)).status).toBe(403);
  });

  it("a lowered limit applies to the next generation; a raised one too", async () => {
    const { owner, member, teamId } = await team();
    expect((await spend(member, teamId)).status).toBe(200);
    const lowered = await api("PATCH", memberPath(teamId, member.id), owner.token, { monthlyLimit: 1 });
    expect(lowered.status).toBe(200);
    const over = await spend(member, teamId);
    expect(over.status).toBe(402);
    expect(over.body.error?.code).toBe("member_limit_reached");
    await api("PATCH", memberPath(teamId, member.id), owner.token, { monthlyLimit: null });
    expect((await spend(member, teamId)).status).toBe(200);
  });

  it("a refused removal (the last owner) leaves the owner able to spend", async () => {
    const { owner, teamId } = await team();
    expect((await spend(owner, teamId)).status).toBe(200);
    const r = await api("DELETE", memberPath(teamId, owner.id), owner.token);
    expect(r.status).toBe(409);
    expect((await spend(owner, teamId)).status).toBe(200);
  });

  it("a stranger is refused with 403 and nothing is held", async () => {
    const { teamId } = await team(5);
    const stranger = await user("stranger");
    expect((await spend(stranger, teamId)).status).toBe(403);
    expect(await wallet(env, teamId).balance()).toMatchObject({ available: 5, held: 0 });
  });

  it("reads no D1 membership on the way: the wallet's own list decides", async () => {
    const { member, teamId } = await team();
    expect((await spend(member, teamId)).status).toBe(200);
    // Behind the routes' back (no route does this): D1 loses the row, the wallet still has it.
    await env.DB.prepare("DELETE FROM team_members WHERE team_id = ? AND account_id = ?")
      .bind(teamId, member.id)
      .run();
    expect((await spend(member, teamId)).status).toBe(200);
  });
});

describe("rights taken away reach the wallet before D1", () => {
  it("between the wallet's removal and D1's, the member is already refused", async () => {
    const { member, teamId } = await team();
    expect((await spend(member, teamId)).status).toBe(200);
    // The first half of a removal: the wallet has heard it, D1 still lists the member.
    await wallet(env, teamId).setMember({ accountId: member.id, removed: true });
    expect((await spend(member, teamId)).status).toBe(403);
  });

  it("a removal told to a wallet that had not loaded its members is not undone by the load", async () => {
    const { member, teamId } = await team();
    await wallet(env, teamId).setMember({ accountId: member.id, removed: true });
    expect((await spend(member, teamId)).status).toBe(403);
  });

  it("a session revoked in the wallet but not yet in D1 is refused; so is an account blocked there", async () => {
    const { member, owner, teamId } = await team();
    const sessionId = await sessionIdOf(member.token);
    await wallet(env, member.id).sessionRevoked({ sessionId, at: Date.now() });
    expect((await spend(member, teamId)).status).toBe(401);
    expect((await api("GET", "/api/me", member.token)).status).toBe(200); // D1 says live
    await wallet(env, owner.id).setOwnerState({ status: "blocked" });
    expect((await spend(owner, teamId)).status).toBe(403);
  });

  it("pushes are idempotent: the same push twice leaves the same state", async () => {
    const { owner, member, teamId } = await team();
    const w = wallet(env, teamId);
    for (let i = 0; i < 2; i++) {
      await w.setMember({ accountId: member.id, role: "member", monthlyLimit: 1 });
    }
    expect((await spend(member, teamId)).status).toBe(200);
    expect((await spend(member, teamId)).status).toBe(402);
    for (let i = 0; i < 2; i++) await wallet(env, owner.id).setOwnerState({ status: "active" });
    expect((await spend(owner, teamId)).status).toBe(200);
  });
});

async function sessionIdOf(token: string): Promise<string> {
  const row = await env.DB.prepare("SELECT id FROM sessions WHERE token_hash = ?")
    .bind(await sha256Hex(token))
    .first<{ id: string }>();
  return row?.id as string;
}
