import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import type { Env } from "../../worker/env";
import { sha256Hex } from "../../worker/lib/ids";
import { createSession, SESSION_TTL_MS } from "../../worker/lib/session";
import { signingKey, signToken, verifyToken } from "../../worker/lib/token";
import { wallet } from "../../worker/wallet/client";
import { adminFetch } from "./admin-helpers";
import { anonymousSession, devLogin, me, postJson, uniqueId } from "./auth-helpers";
import { fundedAccount, ticketBody, upstream } from "./generate-helpers";

/**
 * Signed session tokens (docs/decisions/017): the generate route trusts the
 * signature for who asks and the account's wallet object for whether that
 * session may still spend, so revocation, blocking and merging take effect at
 * once with no D1 session read on the way.
 */

const LOOPBACK = "http://localhost";
const DEPLOYED = "https://myba.example.com";
const DAY = 24 * 60 * 60 * 1000;

async function spend(bindings: Env, token: string, base = LOOPBACK) {
  const ctx = createExecutionContext();
  const res = await app.request(
    `${base}/api/generate`,
    {
      method: "POST",
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        "Idempotency-Key": crypto.randomUUID(),
      },
      body: JSON.stringify(ticketBody()),
    },
    bindings,
    ctx,
  );
  const body = (await res.json()) as { error?: { code: string } };
  await waitOnExecutionContext(ctx);
  return { status: res.status, code: body.error?.code };
}

const payloadOf = (token: string) =>
  JSON.parse(atob((token.slice(5).split(".")[0] ?? "").replaceAll("-", "+").replaceAll("_", "/")));

const sessionRow = async (token: string) =>
  env.DB.prepare("SELECT * FROM sessions WHERE token_hash = ?")
    .bind(await sha256Hex(token))
    .first<{ id: string; account_id: string; expires_at: number }>();

describe("signed session tokens", () => {
  it("sign-in on a loopback host issues a signed token naming the session; D1 keeps only its hash", async () => {
    const user = await devLogin(`${uniqueId("t")}@example.com`);
    expect(user.token).toMatch(/^myba_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const row = await sessionRow(user.token);
    expect(payloadOf(user.token)).toMatchObject({ sid: row?.id, acc: user.account.id, knd: "user", res: 0 });
    expect((await me(user.token)).status).toBe(200);
  });

  it("generates with no D1 session read: a token whose D1 row no longer matches still spends", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/ok");
    expect((await spend(up.env, a.token)).status).toBe(200);
    // Break the D1 lookup of this token (ordinary routes read it; generate must not).
    await env.DB.prepare("UPDATE sessions SET token_hash = 'elsewhere' WHERE token_hash = ?")
      .bind(await sha256Hex(a.token))
      .run();
    expect((await me(a.token)).status).toBe(401);
    expect((await spend(up.env, a.token)).status).toBe(200);
  });

  it("refuses forged, tampered and other-key tokens with 401 and calls no model", async () => {
    const a = await fundedAccount(3);
    const victim = await fundedAccount(3);
    const up = upstream("fake/ok");
    const claim = payloadOf(a.token);
    const [payload, mac] = a.token.slice(5).split(".") as [string, string];
    const tampered = btoa(JSON.stringify({ ...claim, acc: victim.id }))
      .replaceAll("+", "-")
      .replaceAll("/", "_")
      .replace(/=+$/, "");
    const otherKey = await signToken("not-our-key", claim);
    const flipped = `myba_${payload}.${mac.startsWith("A") ? "B" : "A"}${mac.slice(1)}`;
    for (const token of [`myba_${tampered}.${mac}`, otherKey, flipped, "myba_x.y", "myba_nope"]) {
      expect(await spend(up.env, token), token).toEqual({ status: 401, code: "unauthorized" });
    }
    expect(await up.requests()).toHaveLength(0);
    expect((await fundedBalance(victim.id)).available).toBe(3);
  });

  it("keeps legacy opaque tokens working through D1, on generate and everywhere else", async () => {
    const a = await fundedAccount(3);
    const { token } = await createSession(env, a.id, "user"); // no host: opaque
    expect(token).not.toContain(".");
    const up = upstream("fake/ok");
    expect((await spend(up.env, token)).status).toBe(200);
    expect((await me(token)).status).toBe(200);
  });

  it("off a loopback host without SESSION_SIGNING_KEY: opaque tokens, and the development key is never trusted", async () => {
    const a = await fundedAccount(3);
    const deployed = await createSession(env, a.id, "user", { url: DEPLOYED });
    expect(deployed.token).not.toContain(".");
    const up = upstream("fake/ok");
    expect((await spend(up.env, deployed.token, DEPLOYED)).status).toBe(200);
    // A token signed with the development key for a real session, presented to a deployed host.
    const loopbackToken = (await createSession(env, a.id, "user", { url: LOOPBACK })).token;
    const claim = payloadOf(loopbackToken);
    const forged = await signToken(await devKeyOf(loopbackToken), { ...claim, iat: claim.iat + 1 });
    expect((await spend(up.env, forged, DEPLOYED)).status).toBe(401);
  });

  it("with SESSION_SIGNING_KEY: signs with it anywhere; a token of another key falls back to D1", async () => {
    const a = await fundedAccount(3);
    const keyed = { ...upstream("fake/ok").env, SESSION_SIGNING_KEY: "production-secret-0123456789" };
    const { token } = await createSession(keyed, a.id, "user", { url: DEPLOYED });
    expect(await verifyToken("production-secret-0123456789", token)).toMatchObject({ acc: a.id });
    expect((await spend(keyed, token, DEPLOYED)).status).toBe(200);
    // Signed under the development key (as before a key was set): still valid through its D1 row.
    const older = await createSession(env, a.id, "user", { url: LOOPBACK });
    expect((await spend(keyed, older.token, DEPLOYED)).status).toBe(200);
  });
});

describe("who may spend takes effect at once on /api/generate", () => {
  it("a revoked session (sign-out) is refused with 401 on its next generation", async () => {
    const user = await devLogin(`${uniqueId("r")}@example.com`);
    const up = upstream("fake/ok");
    expect((await spend(up.env, user.token)).status).toBe(200);
    expect((await postJson("/auth/logout", {}, { Authorization: `Bearer ${user.token}` })).status).toBe(200);
    expect(await spend(up.env, user.token)).toEqual({ status: 401, code: "unauthorized" });
    expect(await up.requests()).toHaveLength(1);
  });

  it("admin revoke-sessions refuses every session of the account, seen or not; a later sign-in works", async () => {
    const a = await fundedAccount(5);
    const up = upstream("fake/ok");
    const unseen = await createSession(env, a.id, "user", { url: LOOPBACK });
    expect((await spend(up.env, a.token)).status).toBe(200);
    const res = await adminFetch(`/admin/accounts/${a.id}/revoke-sessions`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(await spend(up.env, a.token)).toEqual({ status: 401, code: "unauthorized" });
    expect(await spend(up.env, unseen.token)).toEqual({ status: 401, code: "unauthorized" });
    await new Promise((r) => setTimeout(r, 2));
    const later = await createSession(env, a.id, "user", { url: LOOPBACK });
    expect((await spend(up.env, later.token)).status).toBe(200);
  });

  it("blocking refuses the next generation with 403 forbidden; unblocking lets it through", async () => {
    const a = await fundedAccount(5);
    const up = upstream("fake/ok");
    expect((await spend(up.env, a.token)).status).toBe(200);
    expect((await adminFetch(`/admin/accounts/${a.id}/block`, { method: "POST" })).status).toBe(200);
    expect(await spend(up.env, a.token)).toEqual({ status: 403, code: "forbidden" });
    expect((await fundedBalance(a.id)).available).toBe(4);
    expect((await adminFetch(`/admin/accounts/${a.id}/unblock`, { method: "POST" })).status).toBe(200);
    expect((await spend(up.env, a.token)).status).toBe(200);
    expect(await up.requests()).toHaveLength(2);
  });

  it("an account blocked in D1 before its wallet ever saw it is refused too", async () => {
    const a = await fundedAccount(5, { blocked: true });
    expect(await spend(upstream("fake/ok").env, a.token)).toEqual({ status: 403, code: "forbidden" });
  });

  it("an expired session is refused with 401", async () => {
    const a = await fundedAccount(5);
    const old = await createSession(env, a.id, "user", {
      now: Date.now() - SESSION_TTL_MS - 1000,
      url: LOOPBACK,
    });
    expect(await spend(upstream("fake/ok").env, old.token)).toEqual({ status: 401, code: "unauthorized" });
  });

  it("a merged anonymous session (its browser signed in) gets 403 sign_in_required at once", async () => {
    const anon = await anonymousSession(uniqueId());
    const up = upstream("fake/ok");
    expect((await spend(up.env, anon.token)).status).toBe(200);
    await devLogin(`${uniqueId("m")}@example.com`, anon.token);
    expect(await spend(up.env, anon.token)).toEqual({ status: 403, code: "sign_in_required" });
  });

  it("renews a session used only for generating once less than half its time is left", async () => {
    const a = await fundedAccount(5);
    const aging = await createSession(env, a.id, "user", { now: Date.now() - 25 * DAY, url: LOOPBACK });
    const before = (await sessionRow(aging.token))?.expires_at ?? 0;
    expect(before).toBeLessThan(Date.now() + 6 * DAY);
    expect((await spend(upstream("fake/ok").env, aging.token)).status).toBe(200);
    expect((await sessionRow(aging.token))?.expires_at).toBeGreaterThan(Date.now() + SESSION_TTL_MS - DAY);
  });
});

const fundedBalance = (accountId: string) => wallet(env, accountId).balance();

/** The development key, as anyone can read it in the source: the one that verifies a loopback token. */
async function devKeyOf(token: string): Promise<string> {
  const key = signingKey({}, LOOPBACK) as string;
  expect(await verifyToken(key, token)).not.toBeNull();
  return key;
}
