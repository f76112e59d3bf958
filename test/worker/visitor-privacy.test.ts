import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { uniqueId } from "./auth-helpers";

/**
 * A visitor id is not a secret (any page computes the same fingerprint): a
 * second session for it sees the balance, never the tickets made through the
 * account's other sessions (docs/api.md "Public routes", decision 009).
 */
const BASE = "http://localhost";

async function send(path: string, init: RequestInit & { token?: string; json?: unknown } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("Authorization", `Bearer ${init.token}`);
  if (init.json !== undefined) headers.set("Content-Type", "application/json");
  return SELF.fetch(`${BASE}${path}`, {
    ...init,
    headers,
    body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
  });
}

let ipCounter = 1;
async function anonymous(visitorId: string) {
  const res = await send("/api/anonymous", {
    method: "POST",
    json: { visitorId },
    headers: { "CF-Connecting-IP": `198.51.100.${ipCounter++}` },
  });
  expect(res.status).toBe(200);
  return res.json<{ token: string; account: { id: string }; created: boolean }>();
}

/** One mock generation, waited for until its record is final. */
async function generateTicket(token: string, prompt: string): Promise<string> {
  const res = await send("/api/generate", {
    method: "POST",
    token,
    headers: { "Idempotency-Key": crypto.randomUUID() },
    json: { site: "jira", feature: "generate", issueType: "bug", prompt },
  });
  expect(res.status).toBe(200);
  const body = await res.json<{ generation: { id: string } }>();
  for (let i = 0; i < 50; i++) {
    const row = await env.DB.prepare("SELECT status FROM generations WHERE id = ?")
      .bind(body.generation.id)
      .first<{ status: string }>();
    if (row && row.status !== "pending") break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return body.generation.id;
}

async function getJson<T>(path: string, token: string) {
  const res = await send(path, { token });
  return { status: res.status, body: res.status === 200 ? await res.json<T>() : null, res };
}

type List = { items: { id: string; prompt: string }[] };

describe("a second session for a known visitor id", () => {
  it("sees the balance but not the tickets made through the first session", async () => {
    const visitorId = uniqueId();
    const owner = await anonymous(visitorId);
    const id = await generateTicket(owner.token, "Secret roadmap item: acquire the competitor");
    const attacker = await anonymous(visitorId);
    expect(attacker.created).toBe(false);
    expect(attacker.account.id).toBe(owner.account.id);

    // The balance is the account's: both see it.
    const mine = await getJson<{ tokens: { available: number } }>("/api/me", owner.token);
    const theirs = await getJson<{ tokens: { available: number } }>("/api/me", attacker.token);
    expect(theirs.body?.tokens.available).toBe(mine.body?.tokens.available);

    // The owner still reads their own ticket every way.
    expect((await getJson<List>("/api/me/generations", owner.token)).body?.items.map((g) => g.id)).toEqual([
      id,
    ]);
    expect((await send(`/api/me/generations/${id}`, { token: owner.token })).status).toBe(200);

    // The other session: empty list, 404 by id and as Markdown.
    expect((await getJson<List>("/api/me/generations", attacker.token)).body?.items).toEqual([]);
    const byId = await send(`/api/me/generations/${id}`, { token: attacker.token });
    expect(byId.status).toBe(404);
    expect(await byId.json()).toMatchObject({ error: { code: "not_found" } });
    expect((await send(`/api/me/generations/${id}?format=md`, { token: attacker.token })).status).toBe(404);
  });

  it("learns nothing of the owner's work from usage or transactions", async () => {
    const visitorId = uniqueId();
    const owner = await anonymous(visitorId);
    const id = await generateTicket(owner.token, "Payroll export drops rows with accents");
    const attacker = await anonymous(visitorId);

    const usage = await getJson<{ generations: number; bySite: object }>("/api/me/usage", attacker.token);
    expect(usage.body).toMatchObject({ generations: 0, bySite: {} });
    expect((await getJson<{ generations: number }>("/api/me/usage", owner.token)).body?.generations).toBe(1);

    type Txns = { items: { type: string; description: string; generationId?: string; feature?: string }[] };
    const seen = (await getJson<Txns>("/api/me/transactions", attacker.token)).body?.items ?? [];
    const usageEntry = seen.find((t) => t.type === "usage");
    expect(usageEntry).toBeDefined();
    expect(usageEntry?.generationId).toBeUndefined();
    expect(usageEntry?.feature).toBeUndefined();
    expect(usageEntry?.description).not.toContain("jira");
    const ownerView = (await getJson<Txns>("/api/me/transactions", owner.token)).body?.items ?? [];
    expect(ownerView.find((t) => t.type === "usage")?.generationId).toBe(id);
  });

  it("signing in with it moves neither the owner's tokens nor tickets", async () => {
    const visitorId = uniqueId();
    const owner = await anonymous(visitorId);
    await generateTicket(owner.token, "Checkout button overlaps the footer on mobile");
    const attacker = await anonymous(visitorId);
    const stolen = await send("/auth/dev-login", {
      method: "POST",
      json: { email: `${uniqueId("thief")}@example.test`, anonymousToken: attacker.token },
    });
    expect(stolen.status).toBe(200);
    const thief = await stolen.json<{ token: string; transferred: number }>();
    expect(thief.transferred).toBe(0);
    expect((await getJson<List>("/api/me/generations", thief.token)).body?.items).toEqual([]);

    // The owner's browser still spends and reads as before, then signs in and takes both along.
    expect((await getJson<List>("/api/me/generations", owner.token)).body?.items).toHaveLength(1);
    const signedIn = await send("/auth/dev-login", {
      method: "POST",
      json: { email: `${uniqueId("owner")}@example.test`, anonymousToken: owner.token },
    });
    const user = await signedIn.json<{ token: string; transferred: number }>();
    expect(user.transferred).toBe(2);
    expect((await getJson<List>("/api/me/generations", user.token)).body?.items).toHaveLength(1);
  });
});

describe("sign-in takes the browser's anonymous tickets along", () => {
  it("moves the anonymous session's generations to the user, exactly once", async () => {
    const anon = await anonymous(uniqueId());
    const first = await generateTicket(anon.token, "Search ignores the project filter");
    const second = await generateTicket(anon.token, "Dark mode forgets itself after reload");
    const email = `${uniqueId("mover")}@example.test`;
    const signIn = () =>
      send("/auth/dev-login", { method: "POST", json: { email, anonymousToken: anon.token } }).then((r) =>
        r.json<{ token: string; transferred: number }>(),
      );
    const user = await signIn();
    expect(user.transferred).toBe(1);
    const history = await getJson<List>("/api/me/generations", user.token);
    expect(history.body?.items.map((g) => g.id)).toEqual([second, first]);
    expect((await send(`/api/me/generations/${first}?format=md`, { token: user.token })).status).toBe(200);

    const again = await signIn();
    expect(again.transferred).toBe(0);
    expect((await getJson<List>("/api/me/generations", again.token)).body?.items).toHaveLength(2);
    // Another user presenting the same anonymous token later gets nothing.
    const other = await send("/auth/dev-login", {
      method: "POST",
      json: { email: `${uniqueId("late")}@example.test`, anonymousToken: anon.token },
    });
    const late = await other.json<{ token: string; transferred: number }>();
    expect(late.transferred).toBe(0);
    expect((await getJson<List>("/api/me/generations", late.token)).body?.items).toEqual([]);
  });
});
