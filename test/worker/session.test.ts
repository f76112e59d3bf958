import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../worker/lib/ids";
import { createSession, SESSION_MAX_AGE_MS, SESSION_TTL_MS } from "../../worker/lib/session";
import { adminFetch } from "./admin-helpers";
import { anonymousSession, call, devLogin, me, postJson, uniqueId } from "./auth-helpers";

const email = () => `${uniqueId("s")}@example.com`;
const logout = (token?: string) =>
  postJson("/auth/logout", {}, token ? { Authorization: `Bearer ${token}` } : {});
/** A generation request; malformed JSON is refused only by the route itself, after the guards. */
const spend = (
  token: string,
  body = '{"site":"jira","feature":"generate","issueType":"bug","prompt":"Fix it"}',
) =>
  call("/api/generate", {
    method: "POST",
    headers: {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/json",
      "Idempotency-Key": crypto.randomUUID(),
    },
    body,
  });

describe("sessions", () => {
  it("are random and stored only as SHA-256 hashes", async () => {
    const a = await anonymousSession(uniqueId());
    const b = await anonymousSession(uniqueId());
    expect(a.token).not.toBe(b.token);
    expect(a.token.length).toBeGreaterThanOrEqual(40);
    const rows = await env.DB.prepare("SELECT * FROM sessions").all();
    const dump = JSON.stringify(rows.results);
    expect(dump).not.toContain(a.token);
    expect(dump).toContain(await sha256Hex(a.token));
  });

  it("expire: an expired session is refused with 401", async () => {
    const user = await devLogin(email());
    const expired = await createSession(env, user.account.id, "user", {
      now: Date.now() - SESSION_TTL_MS - 1000,
      url: "http://localhost/",
    });
    const res = await me(expired.token);
    expect(res.status).toBe(401);
    const live = await createSession(env, user.account.id, "user", {
      now: Date.now() - SESSION_TTL_MS + 60_000,
      url: "http://localhost/",
    });
    expect((await me(live.token)).status).toBe(200);
  });

  it("renew on use once less than half their time is left, never past the maximum age", async () => {
    const user = await devLogin(email());
    const DAY = 24 * 60 * 60 * 1000;
    const expiry = async (token: string) =>
      (
        await env.DB.prepare("SELECT expires_at AS t FROM sessions WHERE token_hash = ?")
          .bind(await sha256Hex(token))
          .first<{ t: number }>()
      )?.t as number;

    const fresh = await createSession(env, user.account.id, "user", {
      now: Date.now() - 10 * DAY,
      url: "http://localhost/",
    });
    const before = await expiry(fresh.token);
    expect((await me(fresh.token)).status).toBe(200);
    expect(await expiry(fresh.token)).toBe(before); // 20 days left: no write

    const aging = await createSession(env, user.account.id, "user", {
      now: Date.now() - 25 * DAY,
      url: "http://localhost/",
    });
    expect((await me(aging.token)).status).toBe(200);
    expect(await expiry(aging.token)).toBeGreaterThan(Date.now() + SESSION_TTL_MS - DAY);

    const old = await createSession(env, user.account.id, "user", {
      now: Date.now() - SESSION_MAX_AGE_MS + DAY,
      url: "http://localhost/",
    });
    await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE token_hash = ?")
      .bind(Date.now() + DAY / 2, await sha256Hex(old.token))
      .run();
    expect((await me(old.token)).status).toBe(200);
    const capped = await expiry(old.token);
    expect(capped).toBeLessThanOrEqual(Date.now() + DAY);
    expect(capped).toBeGreaterThan(Date.now() + DAY / 2);
  });

  it("POST /auth/logout revokes the presented session only", async () => {
    const address = email();
    const phone = await devLogin(address);
    const laptop = await devLogin(address);
    const stranger = await devLogin(email());

    const out = await logout(phone.token);
    expect(out.status).toBe(200);
    expect(await out.json()).toEqual({ revoked: true });
    expect((await me(phone.token)).status).toBe(401);
    expect((await me(laptop.token)).status).toBe(200);
    expect((await me(stranger.token)).status).toBe(200);

    // A revoked token cannot act anywhere, including on the same account's wallet.
    const spend = await call("/api/me/transactions", { headers: { Authorization: `Bearer ${phone.token}` } });
    expect(spend.status).toBe(401);
    // Logging out again is harmless.
    expect((await logout(phone.token)).status).toBe(200);
  });

  it("logout without a token, or with one that never existed, is 401", async () => {
    const none = await logout();
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { code: "unauthorized" } });
    expect((await logout("myba_never-issued")).status).toBe(401);
  });

  it("an anonymous session whose account moved to a user can read but not spend", async () => {
    const anon = await anonymousSession(uniqueId());
    const again = await anonymousSession(uniqueId());
    await devLogin(email(), anon.token);
    const seen = await me(anon.token);
    expect(seen.status).toBe(200);
    expect(seen.body?.tokens.available).toBe(0);
    expect((await spend(anon.token)).status).toBe(403);
    expect(await (await spend(anon.token)).json()).toMatchObject({ error: { code: "sign_in_required" } });
    // Another visitor's anonymous session is untouched: it spends past the guard.
    expect((await me(again.token)).body?.tokens.available).toBe(3);
    expect((await spend(again.token, "{")).status).toBe(400);

    // Blocked wins over merged: the account's owner cannot fix that by signing in.
    const blocked = await adminFetch(`/admin/accounts/${anon.account.id}/block`, { method: "POST" });
    expect(blocked.status).toBe(200);
    expect(await (await spend(anon.token)).json()).toMatchObject({ error: { code: "forbidden" } });

    // Logging it out works like any other session.
    expect((await logout(anon.token)).status).toBe(200);
    expect((await me(anon.token)).status).toBe(401);
  });

  it("a session sees only its own account", async () => {
    const a = await devLogin(email());
    const b = await anonymousSession(uniqueId());
    expect((await me(a.token)).body?.account.id).toBe(a.account.id);
    expect((await me(b.token)).body?.account.id).toBe(b.account.id);
    expect(a.account.id).not.toBe(b.account.id);
  });
});
