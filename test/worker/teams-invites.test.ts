import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { INVITE_TTL_MS } from "../../worker/teams/invites";
import { addMember, api, createTeam, invite, type TeamView, unverifiedUser, user } from "./team-helpers";

type Invite = {
  invite: { code: string; expiresAt: string; email?: string; role: string; monthlyLimit: number | null };
};

describe("POST /api/teams/:id/invites", () => {
  it("owners and admins create single-use codes that expire in 7 days: 201", async () => {
    const owner = await user();
    const admin = await user();
    const teamId = await createTeam(owner);
    await addMember(owner, teamId, admin, { role: "admin" });
    const before = Date.now();
    const r = await api<Invite>("POST", `/api/teams/${teamId}/invites`, owner.token, {});
    expect(r.status).toBe(201);
    expect(r.body.invite).toMatchObject({ role: "member", monthlyLimit: null });
    expect(r.body.invite.email).toBeUndefined();
    const expires = Date.parse(r.body.invite.expiresAt);
    expect(expires - before).toBeGreaterThanOrEqual(INVITE_TTL_MS - 1000);
    expect(expires - before).toBeLessThanOrEqual(INVITE_TTL_MS + 5000);

    const byAdmin = await api<Invite>("POST", `/api/teams/${teamId}/invites`, admin.token, {
      email: "New.Person@Example.test",
      role: "admin",
      monthlyLimit: 50,
    });
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body.invite).toMatchObject({
      email: "new.person@example.test",
      role: "admin",
      monthlyLimit: 50,
    });
    expect(byAdmin.body.invite.code).not.toBe(r.body.invite.code);
    // Only the hash is kept.
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM team_invites WHERE code_hash = ?")
      .bind(byAdmin.body.invite.code)
      .first<{ n: number }>();
    expect(stored?.n).toBe(0);
  });

  it("a member → 403 forbidden; a non-member → 404", async () => {
    const owner = await user();
    const member = await user();
    const stranger = await user();
    const teamId = await createTeam(owner);
    await addMember(owner, teamId, member);
    const r = await api("POST", `/api/teams/${teamId}/invites`, member.token, {});
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: { code: "forbidden" } });
    expect((await api("POST", `/api/teams/${teamId}/invites`, stranger.token, {})).status).toBe(404);
  });

  it("refuses an owner role, a bad email or limit with 400", async () => {
    const owner = await user();
    const teamId = await createTeam(owner);
    for (const body of [{ role: "owner" }, { email: "nope" }, { monthlyLimit: -1 }, { monthlyLimit: 1.5 }]) {
      const r = await api("POST", `/api/teams/${teamId}/invites`, owner.token, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    const n = await env.DB.prepare("SELECT count(*) AS n FROM team_invites WHERE team_id = ?")
      .bind(teamId)
      .first<{ n: number }>();
    expect(n?.n).toBe(0);
  });
});

describe("POST /api/teams/join", () => {
  it("admits the holder in the invite's role and limit, and the code then answers 404", async () => {
    const owner = await user();
    const joiner = await user();
    const late = await user();
    const teamId = await createTeam(owner, "Growth");
    const code = await invite(owner, teamId, { role: "admin", monthlyLimit: 7 });
    const r = await api<TeamView>("POST", "/api/teams/join", joiner.token, { code });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      team: { id: teamId, name: "Growth", role: "admin" },
      tokens: { available: 0 },
    });
    const seen = await api<{ members: { accountId: string; monthlyLimit: number | null }[] }>(
      "GET",
      `/api/teams/${teamId}`,
      joiner.token,
    );
    expect(seen.body.members.find((m) => m.accountId === joiner.id)?.monthlyLimit).toBe(7);

    const reused = await api("POST", "/api/teams/join", late.token, { code });
    expect(reused.status).toBe(404);
    expect(reused.body).toMatchObject({ error: { code: "not_found" } });
  });

  it("unknown, used and expired codes answer the same 404", async () => {
    const owner = await user();
    const a = await user();
    const b = await user();
    const teamId = await createTeam(owner);
    const used = await invite(owner, teamId);
    await api("POST", "/api/teams/join", a.token, { code: used });
    const expired = await invite(owner, teamId);
    await env.DB.prepare("UPDATE team_invites SET expires_at = ? WHERE team_id = ? AND used_at IS NULL")
      .bind(Date.now() - 1, teamId)
      .run();
    const answers = [];
    for (const code of ["myba_inv_doesnotexist", used, expired]) {
      const r = await api<{ error: { code: string; message: string } }>("POST", "/api/teams/join", b.token, {
        code,
      });
      answers.push([r.status, r.body.error.code, r.body.error.message]);
    }
    expect(new Set(answers.map((x) => JSON.stringify(x))).size).toBe(1);
    expect(answers[0]?.[0]).toBe(404);
    expect((await api("GET", `/api/teams/${teamId}`, b.token)).status).toBe(404);
  });

  it("a member joining again → 409 already_member, and the code stays usable", async () => {
    const owner = await user();
    const member = await user();
    const other = await user();
    const teamId = await createTeam(owner);
    await addMember(owner, teamId, member);
    const code = await invite(owner, teamId);
    const again = await api("POST", "/api/teams/join", member.token, { code });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: "already_member" } });
    const owners = await api("POST", "/api/teams/join", owner.token, { code });
    expect(owners.status).toBe(409);
    expect((await api("POST", "/api/teams/join", other.token, { code })).status).toBe(200);
  });

  it("an email-bound invite admits only a user with that verified email (403 otherwise)", async () => {
    const owner = await user();
    const invited = await user("invited");
    const someoneElse = await user("else");
    const unverified = await unverifiedUser();
    const teamId = await createTeam(owner);

    const forUnverified = await invite(owner, teamId, { email: unverified.email });
    const r1 = await api("POST", "/api/teams/join", unverified.token, { code: forUnverified });
    expect(r1.status).toBe(403);
    expect(r1.body).toMatchObject({ error: { code: "forbidden" } });

    const code = await invite(owner, teamId, { email: invited.email.toUpperCase() });
    const r2 = await api("POST", "/api/teams/join", someoneElse.token, { code });
    expect(r2.status).toBe(403);
    // Refusals do not use the code up.
    expect((await api("POST", "/api/teams/join", invited.token, { code })).status).toBe(200);
    expect((await api("GET", `/api/teams/${teamId}`, someoneElse.token)).status).toBe(404);
  });

  it("one code raced by 10 users admits exactly one", async () => {
    const owner = await user();
    const teamId = await createTeam(owner);
    const code = await invite(owner, teamId);
    const racers = await Promise.all(Array.from({ length: 10 }, () => user("racer")));
    const results = await Promise.all(racers.map((u) => api("POST", "/api/teams/join", u.token, { code })));
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(404)]);
    const n = await env.DB.prepare("SELECT count(*) AS n FROM team_members WHERE team_id = ?")
      .bind(teamId)
      .first<{ n: number }>();
    expect(n?.n).toBe(2);
  });

  it("refuses a missing code with 400", async () => {
    const u = await user();
    expect((await api("POST", "/api/teams/join", u.token, {})).status).toBe(400);
  });
});
