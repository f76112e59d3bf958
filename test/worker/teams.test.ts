import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  addMember,
  anonymousToken,
  api,
  createTeam,
  fundTeam,
  invite,
  spendFromTeam,
  type TeamView,
  user,
} from "./team-helpers";

type Member = { accountId: string; email?: string; role: string; monthlyLimit: number | null; spent: number };
type Detail = TeamView & { members: Member[] };
type Limit = { monthly: number | null; spent: number; resetsAt: string };
type ListItem = {
  id: string;
  name: string;
  role: string;
  tokens: { available: number; held: number };
  limit: Limit;
};

describe("POST /api/teams", () => {
  it("creates a team with the caller as owner and an empty wallet: 201", async () => {
    const owner = await user("owner");
    const r = await api<TeamView>("POST", "/api/teams", owner.token, { name: "  Platform  " });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      team: { name: "Platform", role: "owner" },
      tokens: { available: 0, held: 0 },
    });
    expect(r.body.team.id).toMatch(/^team_[0-9a-z]{26}$/);
  });

  it("refuses a missing, empty or too long name with 400", async () => {
    const owner = await user();
    for (const body of [{}, { name: "" }, { name: "   " }, { name: "x".repeat(81) }, { name: 5 }]) {
      const r = await api("POST", "/api/teams", owner.token, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body).toMatchObject({ error: { code: "invalid_request" } });
    }
    expect((await api<{ items: unknown[] }>("GET", "/api/teams", owner.token)).body.items).toEqual([]);
  });

  it("anonymous → 403 sign_in_required; no session → 401", async () => {
    const anon = await anonymousToken();
    const r = await api("POST", "/api/teams", anon, { name: "Nope" });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: { code: "sign_in_required" } });
    expect((await api("POST", "/api/teams", null, { name: "Nope" })).status).toBe(401);
  });
});

describe("every team route refuses anonymous sessions with 403 sign_in_required", () => {
  it.each([
    ["GET", "/api/teams"],
    ["GET", "/api/teams/team_01abcdefghijklmnopqrstuvwx"],
    ["POST", "/api/teams/team_01abcdefghijklmnopqrstuvwx/invites"],
    ["POST", "/api/teams/join"],
    ["PATCH", "/api/teams/team_01abcdefghijklmnopqrstuvwx/members/acc_x"],
    ["DELETE", "/api/teams/team_01abcdefghijklmnopqrstuvwx/members/acc_x"],
    ["GET", "/api/teams/team_01abcdefghijklmnopqrstuvwx/transactions"],
    ["GET", "/api/teams/team_01abcdefghijklmnopqrstuvwx/usage"],
  ])("%s %s", async (method, path) => {
    const anon = await anonymousToken();
    const r = await api(method, path, anon, method === "GET" || method === "DELETE" ? undefined : {});
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: { code: "sign_in_required" } });
  });
});

describe("GET /api/teams and /api/teams/:id", () => {
  it("lists the caller's teams with the team's tokens and the caller's own limit", async () => {
    const owner = await user("owner");
    const member = await user("member");
    const teamId = await createTeam(owner, "Payments");
    await fundTeam(teamId, 10);
    await addMember(owner, teamId, member, { monthlyLimit: 5 });
    await spendFromTeam(teamId, member, 2, 5);

    const list = await api<{ items: ListItem[] }>("GET", "/api/teams", member.token);
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({
      id: teamId,
      name: "Payments",
      role: "member",
      tokens: { available: 8 },
      limit: { monthly: 5, spent: 2 },
    });
    const resetsAt = new Date(list.body.items[0]?.limit.resetsAt ?? "");
    expect(resetsAt.getUTCDate()).toBe(1);
    expect(resetsAt.getTime()).toBeGreaterThan(Date.now());
    const ownerList = await api<{ items: ListItem[] }>("GET", "/api/teams", owner.token);
    expect(ownerList.body.items[0]).toMatchObject({ role: "owner", limit: { monthly: null, spent: 0 } });
  });

  it("owners and admins see every member; a member only their own entry", async () => {
    const owner = await user("owner");
    const admin = await user("admin");
    const member = await user("member");
    const teamId = await createTeam(owner);
    await fundTeam(teamId, 10);
    await addMember(owner, teamId, admin, { role: "admin" });
    await addMember(owner, teamId, member, { monthlyLimit: 3 });
    await spendFromTeam(teamId, member, 1, 3);

    for (const who of [owner, admin]) {
      const r = await api<Detail>("GET", `/api/teams/${teamId}`, who.token);
      expect(r.status).toBe(200);
      expect(r.body.tokens.available).toBe(9);
      expect(r.body.members.map((m) => [m.accountId, m.role, m.monthlyLimit, m.spent])).toEqual([
        [owner.id, "owner", null, 0],
        [admin.id, "admin", null, 0],
        [member.id, "member", 3, 1],
      ]);
      expect(r.body.members[0]?.email).toBe(owner.email.toLowerCase());
    }
    const own = await api<Detail>("GET", `/api/teams/${teamId}`, member.token);
    expect(own.status).toBe(200);
    expect(own.body.team).toMatchObject({ id: teamId, role: "member" });
    expect(own.body.members).toEqual([
      expect.objectContaining({ accountId: member.id, spent: 1, monthlyLimit: 3 }),
    ]);
  });

  it("a non-member gets 404 for the team, like an unknown or malformed id", async () => {
    const owner = await user();
    const stranger = await user("stranger");
    const teamId = await createTeam(owner);
    for (const id of [teamId, "team_01abcdefghijklmnopqrstuvwx", "nope", "acc_1234567890"]) {
      const r = await api("GET", `/api/teams/${id}`, stranger.token);
      expect(r.status, id).toBe(404);
      expect(r.body).toMatchObject({ error: { code: "not_found" } });
    }
    expect((await api<{ items: unknown[] }>("GET", "/api/teams", stranger.token)).body.items).toEqual([]);
  });
});

describe("GET /api/me lists the caller's teams", () => {
  it("with the team's available tokens and the caller's limit", async () => {
    const owner = await user();
    const member = await user();
    const teamId = await createTeam(owner, "Mobile");
    await fundTeam(teamId, 4);
    await addMember(owner, teamId, member, { monthlyLimit: 2 });
    await spendFromTeam(teamId, member, 1, 2);
    const r = await api<{ teams: unknown[] }>("GET", "/api/me", member.token);
    expect(r.status).toBe(200);
    expect(r.body.teams).toEqual([
      {
        id: teamId,
        name: "Mobile",
        role: "member",
        tokens: { available: 3 },
        limit: { monthly: 2, spent: 1, resetsAt: expect.any(String) },
      },
    ]);
    expect((await api<{ teams: unknown[] }>("GET", "/api/me", await anonymousToken())).body.teams).toEqual(
      [],
    );
  });
});

describe("a blocked account", () => {
  it("cannot create, invite or join (403 forbidden) but still reads and leaves its teams", async () => {
    const owner = await user();
    const blocked = await user("blocked");
    const teamId = await createTeam(owner);
    await addMember(owner, teamId, blocked, { role: "admin" });
    const code = await invite(owner, teamId);
    await env.DB.prepare("UPDATE accounts SET status = 'blocked' WHERE id = ?").bind(blocked.id).run();
    for (const [method, path, body] of [
      ["POST", "/api/teams", { name: "Mine" }],
      ["POST", `/api/teams/${teamId}/invites`, {}],
      ["POST", "/api/teams/join", { code }],
    ] as const) {
      const r = await api(method, path, blocked.token, body);
      expect(r.status, path).toBe(403);
      expect(r.body).toMatchObject({ error: { code: "forbidden" } });
    }
    expect((await api("GET", `/api/teams/${teamId}`, blocked.token)).status).toBe(200);
    expect((await api("DELETE", `/api/teams/${teamId}/members/${blocked.id}`, blocked.token)).status).toBe(
      200,
    );
  });
});
