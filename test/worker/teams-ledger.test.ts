import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { addMember, api, createTeam, fundTeam, ledgerFlushed, spendFromTeam, user } from "./team-helpers";

type Txn = {
  id: string;
  type: string;
  amount: number;
  balanceAfter: number;
  accountId?: string;
  generationId?: string;
};

async function teamWithSpend() {
  const owner = await user("owner");
  const admin = await user("admin");
  const alice = await user("alice");
  const bob = await user("bob");
  const teamId = await createTeam(owner);
  await addMember(owner, teamId, admin, { role: "admin" });
  await addMember(owner, teamId, alice, { monthlyLimit: 10 });
  await addMember(owner, teamId, bob);
  await fundTeam(teamId, 20);
  const a1 = await spendFromTeam(teamId, alice, 2, 10);
  const b1 = await spendFromTeam(teamId, bob, 3);
  const a2 = await spendFromTeam(teamId, alice, 1, 10);
  await ledgerFlushed(teamId, 4);
  return { owner, admin, alice, bob, teamId, generations: { a1, b1, a2 } };
}

describe("GET /api/teams/:id/transactions", () => {
  it("is the team wallet's ledger, newest first, usage entries naming the member", async () => {
    const { owner, admin, alice, bob, teamId, generations } = await teamWithSpend();
    for (const who of [owner, admin]) {
      const r = await api<{ items: Txn[]; nextCursor?: string }>(
        "GET",
        `/api/teams/${teamId}/transactions`,
        who.token,
      );
      expect(r.status).toBe(200);
      expect(r.body.items.map((t) => [t.type, t.amount, t.balanceAfter, t.accountId])).toEqual([
        ["usage", -1, 14, alice.id],
        ["usage", -3, 15, bob.id],
        ["usage", -2, 18, alice.id],
        ["grant", 20, 20, undefined],
      ]);
      expect(r.body.items[1]?.generationId).toBe(generations.b1.ok ? generations.b1.generationId : "");
    }
    const page = await api<{ items: Txn[]; nextCursor?: string }>(
      "GET",
      `/api/teams/${teamId}/transactions?limit=3`,
      owner.token,
    );
    expect(page.body.items).toHaveLength(3);
    const rest = await api<{ items: Txn[]; nextCursor?: string }>(
      "GET",
      `/api/teams/${teamId}/transactions?limit=3&cursor=${page.body.nextCursor}`,
      owner.token,
    );
    expect(rest.body.items.map((t) => t.type)).toEqual(["grant"]);
    expect(rest.body.nextCursor).toBeUndefined();
  });

  it("a member → 403 forbidden; a non-member → 404; a bad cursor → 400", async () => {
    const { owner, alice, teamId } = await teamWithSpend();
    const stranger = await user();
    const r = await api("GET", `/api/teams/${teamId}/transactions`, alice.token);
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: { code: "forbidden" } });
    expect((await api("GET", `/api/teams/${teamId}/transactions`, stranger.token)).status).toBe(404);
    expect((await api("GET", `/api/teams/${teamId}/transactions?cursor=abc`, owner.token)).status).toBe(400);
  });
});

describe("GET /api/teams/:id/usage", () => {
  it("has the /api/me/usage shape plus byMember", async () => {
    const { owner, alice, bob, teamId } = await teamWithSpend();
    const r = await api<{
      spent: number;
      generations: number;
      bySite: Record<string, unknown>;
      byDay: { date: string; spent: number }[];
      byMember: Record<string, { spent: number; generations: number }>;
    }>("GET", `/api/teams/${teamId}/usage?days=7`, owner.token);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      spent: 6,
      generations: 3,
      bySite: { gitlab: { spent: 6, generations: 3 } },
      byMember: { [alice.id]: { spent: 3, generations: 2 }, [bob.id]: { spent: 3, generations: 1 } },
    });
    expect(r.body.byDay).toHaveLength(7);
    expect(r.body.byDay.at(-1)?.spent).toBe(6);
  });

  it("team spend is not in the member's personal usage", async () => {
    const { alice } = await teamWithSpend();
    const r = await api<{ spent: number; generations: number }>("GET", "/api/me/usage", alice.token);
    expect(r.body).toMatchObject({ spent: 0, generations: 0 });
  });

  it("a member → 403; a non-member → 404; bad days → 400", async () => {
    const { owner, bob, teamId } = await teamWithSpend();
    const stranger = await user();
    expect((await api("GET", `/api/teams/${teamId}/usage`, bob.token)).status).toBe(403);
    expect((await api("GET", `/api/teams/${teamId}/usage`, stranger.token)).status).toBe(404);
    expect((await api("GET", `/api/teams/${teamId}/usage?days=0`, owner.token)).status).toBe(400);
  });
});

describe("a member's real generation from the team wallet", () => {
  it("shows in the team's usage, ledger and the member's limit", async () => {
    const owner = await user("owner");
    const member = await user("member");
    const teamId = await createTeam(owner);
    await addMember(owner, teamId, member, { monthlyLimit: 3 });
    await fundTeam(teamId, 5);
    const res = await SELF.fetch("http://localhost/api/generate", {
      method: "POST",
      headers: {
        Authorization: `Bearer ${member.token}`,
        "Content-Type": "application/json",
        "Idempotency-Key": crypto.randomUUID(),
      },
      body: JSON.stringify({
        site: "linear",
        feature: "generate",
        issueType: "bug",
        prompt: "Export hangs",
        wallet: teamId,
      }),
    });
    expect(res.status).toBe(200);
    const body = await res.json<{ charged: number; tokens: { available: number } }>();
    expect(body.tokens.available).toBe(5 - body.charged);
    await ledgerFlushed(teamId, 2);
    for (let i = 0; i < 50; i++) {
      const u = await api<{ generations: number }>("GET", `/api/teams/${teamId}/usage`, owner.token);
      if (u.body.generations === 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const usage = await api<{ byMember: Record<string, { spent: number }> }>(
      "GET",
      `/api/teams/${teamId}/usage`,
      owner.token,
    );
    expect(usage.body.byMember[member.id]?.spent).toBe(body.charged);
    const txns = await api<{ items: { type: string; accountId?: string }[] }>(
      "GET",
      `/api/teams/${teamId}/transactions`,
      owner.token,
    );
    expect(txns.body.items[0]).toMatchObject({ type: "usage", accountId: member.id });
    const mine = await api<{ items: { limit: { monthly: number; spent: number } }[] }>(
      "GET",
      "/api/teams",
      member.token,
    );
    expect(mine.body.items[0]?.limit).toMatchObject({ monthly: 3, spent: body.charged });
  });
});
