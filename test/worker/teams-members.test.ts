import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { membership } from "../../worker/teams/membership";
import { addMember, api, createTeam, fundTeam, spendFromTeam, user } from "./team-helpers";

type MemberBody = { member: { accountId: string; role: string; monthlyLimit: number | null; spent: number } };
const memberPath = (teamId: string, accountId: string) => `/api/teams/${teamId}/members/${accountId}`;

async function team() {
  const owner = await user("owner");
  const admin = await user("admin");
  const member = await user("member");
  const teamId = await createTeam(owner);
  await addMember(owner, teamId, admin, { role: "admin" });
  await addMember(owner, teamId, member);
  return { owner, admin, member, teamId };
}

describe("PATCH /api/teams/:id/members/:accountId", () => {
  it("owners and admins change a member's limit and role", async () => {
    const { owner, admin, member, teamId } = await team();
    const r = await api<MemberBody>("PATCH", memberPath(teamId, member.id), admin.token, {
      monthlyLimit: 12,
    });
    expect(r.status).toBe(200);
    expect(r.body.member).toMatchObject({ accountId: member.id, role: "member", monthlyLimit: 12, spent: 0 });
    const promoted = await api<MemberBody>("PATCH", memberPath(teamId, member.id), owner.token, {
      role: "admin",
    });
    expect(promoted.body.member).toMatchObject({ role: "admin", monthlyLimit: 12 });
    const unlimited = await api<MemberBody>("PATCH", memberPath(teamId, member.id), owner.token, {
      monthlyLimit: null,
    });
    expect(unlimited.body.member).toMatchObject({ role: "admin", monthlyLimit: null });
  });

  it("a member → 403; a non-member → 404; an unknown target → 404", async () => {
    const { owner, member, teamId } = await team();
    const stranger = await user();
    const r = await api("PATCH", memberPath(teamId, owner.id), member.token, { monthlyLimit: 1 });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: { code: "forbidden" } });
    expect(
      (await api("PATCH", memberPath(teamId, member.id), stranger.token, { monthlyLimit: 1 })).status,
    ).toBe(404);
    expect(
      (await api("PATCH", memberPath(teamId, stranger.id), owner.token, { monthlyLimit: 1 })).status,
    ).toBe(404);
  });

  it("only an owner grants or changes the owner role", async () => {
    const { owner, admin, member, teamId } = await team();
    const grant = await api("PATCH", memberPath(teamId, member.id), admin.token, { role: "owner" });
    expect(grant.status).toBe(403);
    const demote = await api("PATCH", memberPath(teamId, owner.id), admin.token, { role: "member" });
    expect(demote.status).toBe(403);
    const limitOwner = await api("PATCH", memberPath(teamId, owner.id), admin.token, { monthlyLimit: 1 });
    expect(limitOwner.status).toBe(403);
    const d = db(env.DB);
    expect((await membership(d, teamId, owner.id))?.role).toBe("owner");
    expect((await membership(d, teamId, owner.id))?.monthlyLimit).toBeNull();
    const byOwner = await api<MemberBody>("PATCH", memberPath(teamId, member.id), owner.token, {
      role: "owner",
    });
    expect(byOwner.body.member.role).toBe("owner");
  });

  it("the last owner cannot step down (409 last_owner); with a second owner they can", async () => {
    const { owner, member, teamId } = await team();
    const r = await api("PATCH", memberPath(teamId, owner.id), owner.token, { role: "admin" });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ error: { code: "last_owner" } });
    // Changing only the last owner's own limit is fine.
    expect((await api("PATCH", memberPath(teamId, owner.id), owner.token, { monthlyLimit: 5 })).status).toBe(
      200,
    );
    await api("PATCH", memberPath(teamId, member.id), owner.token, { role: "owner" });
    expect((await api("PATCH", memberPath(teamId, owner.id), owner.token, { role: "member" })).status).toBe(
      200,
    );
  });

  it("two owners demoting each other at once: one succeeds, the team keeps one owner", async () => {
    const { owner, member, teamId } = await team();
    await api("PATCH", memberPath(teamId, member.id), owner.token, { role: "owner" });
    const results = await Promise.all([
      api("PATCH", memberPath(teamId, member.id), owner.token, { role: "member" }),
      api("PATCH", memberPath(teamId, owner.id), member.token, { role: "member" }),
    ]);
    const statuses = results.map((r) => r.status).sort();
    // The loser is refused as last owner, or as no longer an owner if it read its role after the winner.
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]);
    const owners = await env.DB.prepare(
      "SELECT count(*) AS n FROM team_members WHERE team_id = ? AND role = 'owner'",
    )
      .bind(teamId)
      .first<{ n: number }>();
    expect(owners?.n).toBe(1);
  });

  it("refuses an empty change or a bad role or limit with 400", async () => {
    const { owner, member, teamId } = await team();
    for (const body of [{}, { role: "boss" }, { monthlyLimit: -3 }, { monthlyLimit: "5" }]) {
      expect(
        (await api("PATCH", memberPath(teamId, member.id), owner.token, body)).status,
        JSON.stringify(body),
      ).toBe(400);
    }
  });
});

describe("DELETE /api/teams/:id/members/:accountId", () => {
  it("owners and admins remove members; the removed member then gets 404 for the team", async () => {
    const { owner, admin, member, teamId } = await team();
    const r = await api("DELETE", memberPath(teamId, member.id), admin.token);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ removed: true });
    expect((await api("GET", `/api/teams/${teamId}`, member.token)).status).toBe(404);
    expect(await membership(db(env.DB), teamId, member.id)).toBeNull();
    expect((await api("DELETE", memberPath(teamId, admin.id), owner.token)).status).toBe(200);
  });

  it("a member may remove only themself (403 for others)", async () => {
    const { admin, member, teamId } = await team();
    const r = await api("DELETE", memberPath(teamId, admin.id), member.token);
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: { code: "forbidden" } });
    expect((await api("DELETE", memberPath(teamId, member.id), member.token)).status).toBe(200);
    expect((await api<{ items: unknown[] }>("GET", "/api/teams", member.token)).body.items).toEqual([]);
  });

  it("an admin cannot remove an owner (403); nobody removes the last owner (409 last_owner)", async () => {
    const { owner, admin, teamId } = await team();
    expect((await api("DELETE", memberPath(teamId, owner.id), admin.token)).status).toBe(403);
    const leave = await api("DELETE", memberPath(teamId, owner.id), owner.token);
    expect(leave.status).toBe(409);
    expect(leave.body).toMatchObject({ error: { code: "last_owner" } });
    expect((await membership(db(env.DB), teamId, owner.id))?.role).toBe("owner");
  });

  it("a non-member → 404; a target who is not a member → 404", async () => {
    const { owner, member, teamId } = await team();
    const stranger = await user();
    expect((await api("DELETE", memberPath(teamId, member.id), stranger.token)).status).toBe(404);
    expect((await api("DELETE", memberPath(teamId, stranger.id), owner.token)).status).toBe(404);
  });

  it("a removed member keeps what they spent on the team's books", async () => {
    const { owner, member, teamId } = await team();
    await fundTeam(teamId, 5);
    await spendFromTeam(teamId, member, 2);
    await api("DELETE", memberPath(teamId, member.id), owner.token);
    const usage = await api<{ byMember: Record<string, { spent: number }> }>(
      "GET",
      `/api/teams/${teamId}/usage`,
      owner.token,
    );
    expect(usage.body.byMember[member.id]?.spent).toBe(2);
  });
});
