import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { wallet } from "../../worker/wallet/client";
import { anonymousSession, devLogin, me, postJson, signIn, uniqueId } from "./auth-helpers";

const email = () => `${uniqueId("u")}@example.com`;

describe("POST /auth/dev-login", () => {
  it("creates the user on first sign-in with the welcome bonus, and returns the same user after", async () => {
    const address = email();
    const first = await devLogin(address);
    expect(first).toMatchObject({
      account: { kind: "user", email: address },
      tokens: { available: 6, held: 0 },
      transferred: 0,
      welcomeGranted: true,
    });
    expect(first.token).toMatch(/^myba_/);

    const second = await devLogin(address.toUpperCase());
    expect(second.account.id).toBe(first.account.id);
    expect(second.welcomeGranted).toBe(false);
    expect(second.token).not.toBe(first.token);
    expect((await me(second.token)).body?.tokens.available).toBe(6);
    expect((await me(first.token)).status).toBe(200);
  });

  it('does not exist unless AUTH_DEV_LOGIN is exactly "true"', async () => {
    for (const AUTH_DEV_LOGIN of ["false", "1", "TRUE", undefined]) {
      const res = await app.request(
        "/auth/dev-login",
        {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ email: email() }),
        },
        { ...env, AUTH_DEV_LOGIN },
      );
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
    }
    const users = await env.DB.prepare("SELECT count(*) AS n FROM accounts WHERE kind = 'user'").first<{
      n: number;
    }>();
    const before = users?.n;
    await app.request("/auth/dev-login", { method: "POST", body: "{}" }, { ...env, AUTH_DEV_LOGIN: "false" });
    const after = await env.DB.prepare("SELECT count(*) AS n FROM accounts WHERE kind = 'user'").first<{
      n: number;
    }>();
    expect(after?.n).toBe(before);
  });

  it("refuses a missing or malformed email with 400", async () => {
    // The popup probes for dev-login this way: 400 when it is on, 404 when off.
    const probe = await app.request("/auth/dev-login", { method: "POST", body: "{}" }, env);
    expect(probe.status).toBe(400);
    for (const body of [
      {},
      { email: "not-an-email" },
      { email: 42 },
      { email: `${"x".repeat(300)}@example.com` },
    ]) {
      const res = await postJson("/auth/dev-login", body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        error: {
          code: "invalid_request",
          issues: expect.arrayContaining([expect.objectContaining({ path: "email" })]),
        },
      });
    }
  });
});

describe("moving the anonymous balance on sign-in", () => {
  it("moves the remainder once; the anonymous session is left empty; a second attempt moves 0", async () => {
    const anon = await anonymousSession(uniqueId());
    expect(anon.tokens.available).toBe(3);
    const address = email();
    const first = await devLogin(address, anon.token);
    expect(first.transferred).toBe(3);
    expect(first.welcomeGranted).toBe(true);
    expect(first.tokens.available).toBe(9);

    expect((await me(anon.token)).body).toMatchObject({
      account: { id: anon.account.id, kind: "anonymous" },
      tokens: { available: 0, held: 0 },
    });

    const second = await devLogin(address, anon.token);
    expect(second.transferred).toBe(0);
    expect((await me(second.token)).body?.tokens.available).toBe(9);
  });

  it("moves only what is left after the anonymous visitor spent some", async () => {
    const anon = await anonymousSession(uniqueId());
    const spent = await wallet(env, anon.account.id).debit({
      key: "test-spend",
      amount: 2,
      type: "usage",
      description: "a generation",
      partial: false,
    });
    expect(spent.ok).toBe(true);
    const user = await devLogin(email(), anon.token);
    expect(user.transferred).toBe(1);
    expect((await me(user.token)).body?.tokens.available).toBe(7);
    const left = await wallet(env, anon.account.id).balance();
    expect(left.available).toBe(0);
  });

  it("concurrent sign-ins with the same anonymous token move it once", async () => {
    const anon = await anonymousSession(uniqueId());
    const address = email();
    const results = await Promise.all(Array.from({ length: 8 }, () => devLogin(address, anon.token)));
    expect(results.reduce((sum, r) => sum + r.transferred, 0)).toBe(3);
    expect(results.filter((r) => r.welcomeGranted)).toHaveLength(1);
    expect((await me(results[0]?.token as string)).body?.tokens.available).toBe(9);
  });

  it("two different users racing for one anonymous token: it moves to exactly one of them", async () => {
    const anon = await anonymousSession(uniqueId());
    const [a, b] = await Promise.all([devLogin(email(), anon.token), devLogin(email(), anon.token)]);
    expect((a?.transferred ?? 0) + (b?.transferred ?? 0)).toBe(3);
    const balances = [(await me(a?.token as string)).body, (await me(b?.token as string)).body];
    expect(balances.map((x) => x?.tokens.available).sort()).toEqual([6, 9]);
    // And again later: still nothing more for either.
    const again = await devLogin(a?.account.email as string, anon.token);
    expect(again.transferred).toBe(0);
  });

  it("moves through the OAuth code exchange too, once", async () => {
    const anon = await anonymousSession(uniqueId());
    const who = { id: 424242, email: email(), emailVerified: true };
    const first = await signIn("github", who, { anonymousToken: anon.token });
    expect(first.transferred).toBe(3);
    const second = await signIn("github", who, { anonymousToken: anon.token });
    expect(second.transferred).toBe(0);
    expect(second.tokens.available).toBe(9);
  });

  it("ignores an anonymous token that is unknown, revoked, or a signed-in user's session", async () => {
    const garbage = await devLogin(email(), "myba_not-a-token");
    expect(garbage.transferred).toBe(0);
    expect(garbage.tokens.available).toBe(6);

    // Another user's session is not an anonymous wallet to drain.
    const victim = await devLogin(email());
    const thief = await devLogin(email(), victim.token);
    expect(thief.transferred).toBe(0);
    expect((await me(victim.token)).body?.tokens.available).toBe(6);
    expect((await me(thief.token)).body?.tokens.available).toBe(6);

    const anon = await anonymousSession(uniqueId());
    const out = await postJson("/auth/logout", {}, { Authorization: `Bearer ${anon.token}` });
    expect(out.status).toBe(200);
    const late = await devLogin(email(), anon.token);
    expect(late.transferred).toBe(0);
    expect((await wallet(env, anon.account.id).balance()).available).toBe(3);
  });

  it("a visitor id moved to a user gets a session for its empty account, nothing granted, no spending", async () => {
    const visitorId = uniqueId();
    const anon = await anonymousSession(visitorId);
    const user = await devLogin(email(), anon.token);
    expect(user.transferred).toBe(3);

    // Asked again and again (a sign-out, a farming script): the same account, still empty.
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        postJson("/api/anonymous", { visitorId }, { "CF-Connecting-IP": "198.51.100.9" }),
      ),
    );
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(res.headers.get("X-Tokens-Remaining")).toBe("0");
      expect(await res.json()).toMatchObject({
        token: expect.stringMatching(/^myba_/),
        account: { id: anon.account.id, kind: "anonymous" },
        tokens: { available: 0, held: 0 },
        created: false,
      });
    }
    const again = await anonymousSession(visitorId);
    expect((await me(again.token)).body).toMatchObject({
      account: { id: anon.account.id, kind: "anonymous" },
      tokens: { available: 0 },
    });

    // Its sessions, old and new, cannot spend: the way on is to sign in.
    for (const token of [anon.token, again.token]) {
      const res = await postJson(
        "/api/generate",
        { site: "jira", feature: "generate", issueType: "bug", prompt: "Login loops on Safari" },
        { Authorization: `Bearer ${token}`, "Idempotency-Key": crypto.randomUUID() },
      );
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({
        error: { code: "sign_in_required", message: expect.stringMatching(/sign in/i) },
      });
    }

    // Signing in with the new session moves nothing twice, to the same user or another.
    expect((await devLogin(user.account.email as string, again.token)).transferred).toBe(0);
    const other = await devLogin(email(), again.token);
    expect(other.transferred).toBe(0);
    expect(other.tokens.available).toBe(6);
    expect((await wallet(env, anon.account.id).balance()).available).toBe(0);
    expect((await me(user.token)).body?.tokens.available).toBe(9);
  });
});

describe("farming the welcome bonus", () => {
  it("is granted once per user however many times and however they sign in", async () => {
    const address = email();
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await devLogin(address));
    const gh = await signIn("github", { id: 515151, email: address, emailVerified: true });
    expect(gh.account.id).toBe(results[0]?.account.id);
    expect([...results, gh].filter((r) => r.welcomeGranted)).toHaveLength(1);
    const seen = await me(gh.token);
    expect(seen.body?.tokens.available).toBe(6);
    expect(seen.body?.tokens.grants.filter((g) => g.source === "welcome")).toHaveLength(1);
  });
});

describe("the ledger after all of the above", () => {
  it("reconciles: every token moved or granted here is in D1 and in the wallets, none twice", async () => {
    const res = await app.request(
      "/admin/reconcile",
      { headers: { Authorization: "Bearer test-admin-token" } },
      env,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, mismatches: [] });
  });
});
