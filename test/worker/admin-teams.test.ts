import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { adminFetch } from "./admin-helpers";
import { addMember, api, createTeam, fundTeam, ledgerFlushed, spendFromTeam, user } from "./team-helpers";

async function json<T>(res: Response) {
  return { status: res.status, body: await res.json<T>() };
}

describe("/admin/teams", () => {
  it("needs the admin token (401 otherwise, even for a team owner's session)", async () => {
    const owner = await user();
    await createTeam(owner);
    expect((await adminFetch("/admin/teams", { headers: { Authorization: "Bearer nope" } })).status).toBe(
      401,
    );
    const r = await adminFetch("/admin/teams", { headers: { Authorization: `Bearer ${owner.token}` } });
    expect(r.status).toBe(401);
  });

  it("finds teams by name, id or a member's account id, newest first, with member counts", async () => {
    const owner = await user();
    const member = await user();
    const label = `Searchable ${crypto.randomUUID().slice(0, 8)}`;
    const older = await createTeam(owner, `${label} A`);
    const newer = await createTeam(owner, `${label} B`);
    await addMember(owner, newer, member);
    type Page = { items: { id: string; name: string; members: number }[]; nextCursor?: string };
    const byName = await json<Page>(
      await adminFetch(`/admin/teams?query=${encodeURIComponent(label.toLowerCase())}`),
    );
    expect(byName.status).toBe(200);
    expect(byName.body.items.map((t) => [t.id, t.members])).toEqual([
      [newer, 2],
      [older, 1],
    ]);
    const byMember = await json<Page>(await adminFetch(`/admin/teams?query=${member.id}`));
    expect(byMember.body.items.map((t) => t.id)).toEqual([newer]);
    const paged = await json<Page>(
      await adminFetch(`/admin/teams?query=${encodeURIComponent(label)}&limit=1`),
    );
    expect(paged.body.items.map((t) => t.id)).toEqual([newer]);
    const next = await json<Page>(
      await adminFetch(
        `/admin/teams?query=${encodeURIComponent(label)}&limit=1&cursor=${paged.body.nextCursor}`,
      ),
    );
    expect(next.body.items.map((t) => t.id)).toEqual([older]);
  });

  it("reads one team with its tokens, members and ledger; unknown → 404", async () => {
    const owner = await user();
    const member = await user();
    const teamId = await createTeam(owner, "Ops");
    await addMember(owner, teamId, member, { monthlyLimit: 4 });
    await fundTeam(teamId, 9);
    await spendFromTeam(teamId, member, 2, 4);
    await ledgerFlushed(teamId, 2);
    const r = await json<{
      team: { id: string; name: string };
      tokens: { available: number };
      members: { accountId: string; role: string; monthlyLimit: number | null; spent: number }[];
    }>(await adminFetch(`/admin/teams/${teamId}`));
    expect(r.status).toBe(200);
    expect(r.body.team).toMatchObject({ id: teamId, name: "Ops" });
    expect(r.body.tokens.available).toBe(7);
    expect(r.body.members.map((m) => [m.accountId, m.role, m.monthlyLimit, m.spent])).toEqual([
      [owner.id, "owner", null, 0],
      [member.id, "member", 4, 2],
    ]);
    const ledger = await json<{ items: { type: string; accountId?: string }[] }>(
      await adminFetch(`/admin/teams/${teamId}/transactions`),
    );
    expect(ledger.body.items.map((e) => [e.type, e.accountId])).toEqual([
      ["usage", member.id],
      ["grant", undefined],
    ]);
    expect((await adminFetch("/admin/teams/team_01abcdefghijklmnopqrstuvwx")).status).toBe(404);
    expect((await adminFetch("/admin/teams/acc_notateam")).status).toBe(404);
  });

  it("adjusts a team's balance, audited, once per Idempotency-Key", async () => {
    const owner = await user();
    const teamId = await createTeam(owner);
    const key = `adj-${crypto.randomUUID()}`;
    const adjust = (amount: number, k = key) =>
      adminFetch(`/admin/teams/${teamId}/adjust`, {
        method: "POST",
        headers: { "Idempotency-Key": k },
        json: { amount, reason: "Goodwill for the outage" },
      });
    const first = await json<{ adjusted: number; tokens: { available: number } }>(await adjust(25));
    expect(first).toMatchObject({ status: 200, body: { adjusted: 25, tokens: { available: 25 } } });
    const replay = await json<{ tokens: { available: number } }>(await adjust(25));
    expect(replay.body.tokens.available).toBe(25);
    expect((await adjust(30)).status).toBe(409);
    // A negative amount never takes the balance below 0.
    const down = await json<{ adjusted: number; tokens: { available: number } }>(
      await adjust(-100, `${key}-down`),
    );
    expect(down.body).toMatchObject({ adjusted: -25, tokens: { available: 0 } });

    const audits = await env.DB.prepare("SELECT action, after FROM audit_log WHERE target = ? ORDER BY id")
      .bind(teamId)
      .all<{ action: string; after: string }>();
    expect(audits.results.map((a) => a.action)).toEqual(["team.adjust", "team.adjust"]);
    expect(JSON.parse(audits.results[0]?.after ?? "{}")).toMatchObject({ reason: "Goodwill for the outage" });
    const seen = await api<{ tokens: { available: number } }>("GET", `/api/teams/${teamId}`, owner.token);
    expect(seen.body.tokens.available).toBe(0);
  });

  it("refuses a zero, oversized or reasonless adjustment with 400 and changes nothing", async () => {
    const owner = await user();
    const teamId = await createTeam(owner);
    for (const body of [{ amount: 0, reason: "x" }, { amount: 10_000_000, reason: "x" }, { amount: 5 }]) {
      const r = await adminFetch(`/admin/teams/${teamId}/adjust`, { method: "POST", json: body });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect(
      (
        await adminFetch("/admin/teams/team_01abcdefghijklmnopqrstuvwx/adjust", {
          method: "POST",
          json: { amount: 5, reason: "x" },
        })
      ).status,
    ).toBe(404);
    const seen = await api<{ tokens: { available: number } }>("GET", `/api/teams/${teamId}`, owner.token);
    expect(seen.body.tokens.available).toBe(0);
  });
});
