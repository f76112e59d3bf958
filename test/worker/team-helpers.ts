import { env, SELF } from "cloudflare:test";
import { expect } from "vitest";
import { db } from "../../worker/db/client";
import { accounts, generations, identities } from "../../worker/db/schema";
import { newId } from "../../worker/lib/ids";
import { createSession } from "../../worker/lib/session";
import { wallet } from "../../worker/wallet/client";

/** Shared by the team route tests: requests through the Worker's own fetch, on a loopback host. */
export async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
): Promise<{ status: number; body: T; res: Response }> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await SELF.fetch(`http://localhost${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, res };
}

export interface User {
  id: string;
  token: string;
  email: string;
}

/** A signed-in user with a verified email (dev login verifies the address it is given). */
export async function user(label = "u"): Promise<User> {
  const email = `${label}-${crypto.randomUUID()}@example.test`;
  const { status, body } = await api<{ token: string; account: { id: string } }>(
    "POST",
    "/auth/dev-login",
    null,
    { email },
  );
  expect(status).toBe(200);
  return { id: body.account.id, token: body.token, email };
}

/** A user whose only email is unverified (kept on the identity, never on the account). */
export async function unverifiedUser(): Promise<User> {
  const id = newId("acc");
  const email = `unverified-${crypto.randomUUID()}@example.test`;
  const d = db(env.DB);
  await d.insert(accounts).values({ id, kind: "user", email: null, createdAt: new Date() });
  await d.insert(identities).values({
    id: newId("idn"),
    accountId: id,
    provider: "github",
    subject: crypto.randomUUID(),
    email,
    emailVerified: false,
    createdAt: new Date(),
  });
  const { token } = await createSession(env, id, "user", { url: "http://localhost/" });
  return { id, token, email };
}

export async function anonymousToken(): Promise<string> {
  const { body } = await api<{ token: string }>("POST", "/api/anonymous", null, {
    visitorId: `v-${crypto.randomUUID()}`,
  });
  return body.token;
}

export interface TeamView {
  team: { id: string; name: string; role: string };
  tokens: { available: number };
}

export async function createTeam(owner: User, name = "Platform") {
  const r = await api<TeamView>("POST", "/api/teams", owner.token, { name });
  expect(r.status).toBe(201);
  return r.body.team.id;
}

export async function invite(by: User, teamId: string, body: Record<string, unknown> = {}) {
  const r = await api<{ invite: { code: string } }>("POST", `/api/teams/${teamId}/invites`, by.token, body);
  expect(r.status).toBe(201);
  return r.body.invite.code;
}

/** `who` joins `teamId` in `role` through an invite from `by`. */
export async function addMember(by: User, teamId: string, who: User, opts: Record<string, unknown> = {}) {
  const code = await invite(by, teamId, opts);
  const r = await api("POST", "/api/teams/join", who.token, { code });
  expect(r.status).toBe(200);
}

export async function fundTeam(teamId: string, amount: number) {
  const r = await wallet(env, teamId).grant({
    key: `test:${crypto.randomUUID()}`,
    source: "free",
    amount,
    description: "Test tokens",
  });
  if (!r.ok) throw new Error(r.message);
}

/**
 * One generation paid by the team, the way the generate route does it: a
 * pending row with `walletId`, a hold naming the member, then the settle.
 */
export async function spendFromTeam(
  teamId: string,
  member: User,
  amount: number,
  monthlyLimit: number | null = null,
) {
  const id = newId("gen");
  await db(env.DB).insert(generations).values({
    id,
    accountId: member.id,
    walletId: teamId,
    idempotencyKey: id,
    requestHash: "x",
    site: "gitlab",
    feature: "generate",
    issueType: "bug",
    prompt: "Team ticket",
    status: "succeeded",
    charged: amount,
    createdAt: new Date(),
  });
  const w = wallet(env, teamId);
  const hold = await w.reserve({
    key: `generation:${id}`,
    amount,
    ttlMs: 60_000,
    reference: id,
    member: { accountId: member.id, monthlyLimit },
  });
  if (!hold.ok) return { ok: false as const, hold };
  const settled = await w.settle({
    holdId: hold.holdId,
    amount,
    description: "Ticket generation (gitlab)",
    feature: "generate",
    generationId: id,
  });
  expect(settled.ok).toBe(true);
  return { ok: true as const, generationId: id };
}

/** Waits until the wallet's ledger has reached D1 (its outbox flushes after the change). */
export async function ledgerFlushed(walletId: string, entries: number) {
  for (let i = 0; i < 100; i++) {
    const row = await env.DB.prepare("SELECT count(*) AS n FROM ledger_entries WHERE wallet_id = ?")
      .bind(walletId)
      .first<{ n: number }>();
    if ((row?.n ?? 0) >= entries) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`ledger of ${walletId} never reached ${entries} entries`);
}
