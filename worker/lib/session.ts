import { and, eq, gt, isNull, or, type SQL } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { db } from "../db/client";
import { accounts, generations, sessions } from "../db/schema";
import type { AppEnv, Session } from "../env";
import { wallet } from "../wallet/client";
import { ApiError, unauthorized } from "./errors";
import { newId, randomToken, sha256Hex } from "./ids";

/**
 * A session lasts this long past its last renewal. Use renews it once less
 * than half is left, so someone who uses MyBA monthly stays signed in, up to
 * SESSION_MAX_AGE_MS after sign-in; then they sign in again.
 */
export const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;
export const SESSION_MAX_AGE_MS = 180 * 24 * 60 * 60 * 1000;

/** Issues a session: the token goes to the client once, only its hash is stored. */
export async function createSession(
  d1: D1Database,
  accountId: string,
  kind: Session["kind"],
  now = Date.now(),
  opts: { resumed?: boolean } = {},
): Promise<{ token: string; session: Session }> {
  const token = `myba_${randomToken(32)}`;
  const id = newId("ses");
  const resumed = opts.resumed ?? false;
  await db(d1)
    .insert(sessions)
    .values({
      id,
      accountId,
      kind,
      resumed,
      tokenHash: await sha256Hex(token),
      createdAt: new Date(now),
      expiresAt: new Date(now + SESSION_TTL_MS),
    });
  return { token, session: { id, accountId, kind, resumed } };
}

export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S{1,512})$/i.exec(header ?? "");
  return match?.[1] ?? null;
}

/**
 * Resolves a bearer token to a live session, or null. `blocked` and `merged`
 * (an anonymous account whose tokens moved to a user) say it may read but
 * not spend.
 */
export async function findSession(
  d1: D1Database,
  token: string,
): Promise<(Session & { blocked: boolean; merged: boolean }) | null> {
  const rows = await db(d1)
    .select({
      id: sessions.id,
      accountId: sessions.accountId,
      kind: sessions.kind,
      resumed: sessions.resumed,
      status: accounts.status,
      mergedInto: accounts.mergedInto,
      createdAt: sessions.createdAt,
      expiresAt: sessions.expiresAt,
    })
    .from(sessions)
    .innerJoin(accounts, eq(accounts.id, sessions.accountId))
    .where(
      and(
        eq(sessions.tokenHash, await sha256Hex(token)),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, new Date()),
      ),
    )
    .limit(1);
  const row = rows[0];
  if (!row) return null;
  await renew(d1, row);
  return {
    id: row.id,
    accountId: row.accountId,
    kind: row.kind,
    resumed: row.resumed,
    blocked: row.status === "blocked",
    merged: row.mergedInto !== null,
  };
}

/** Sliding expiry: one write per session per half-TTL at most. */
async function renew(d1: D1Database, row: { id: string; createdAt: Date; expiresAt: Date }): Promise<void> {
  const now = Date.now();
  if (row.expiresAt.getTime() - now > SESSION_TTL_MS / 2) return;
  const expiresAt = Math.min(now + SESSION_TTL_MS, row.createdAt.getTime() + SESSION_MAX_AGE_MS);
  if (expiresAt <= row.expiresAt.getTime()) return;
  await db(d1)
    .update(sessions)
    .set({ expiresAt: new Date(expiresAt) })
    .where(and(eq(sessions.id, row.id), isNull(sessions.revokedAt)));
}

/**
 * A session row by its token whatever its state, for callers that must tell
 * "revoked", "expired" and "merged" apart (sign-in with an anonymousToken).
 */
export async function sessionByToken(d1: D1Database, token: string) {
  const rows = await db(d1)
    .select({
      id: sessions.id,
      accountId: sessions.accountId,
      kind: sessions.kind,
      resumed: sessions.resumed,
      expiresAt: sessions.expiresAt,
      revokedAt: sessions.revokedAt,
      accountKind: accounts.kind,
      mergedInto: accounts.mergedInto,
    })
    .from(sessions)
    .innerJoin(accounts, eq(accounts.id, sessions.accountId))
    .where(eq(sessions.tokenHash, await sha256Hex(token)))
    .limit(1);
  const row = rows[0];
  if (!row) return null;
  return { ...row, live: !row.revokedAt && row.expiresAt.getTime() > Date.now() };
}

/** Revokes one session by id; a revoked session stays revoked. */
export async function revokeSession(d1: D1Database, sessionId: string, now = Date.now()): Promise<void> {
  await db(d1)
    .update(sessions)
    .set({ revokedAt: new Date(now) })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
}

/**
 * Requires `Authorization: Bearer <session token>`; sets `c.var.session` and,
 * after the handler, `X-Tokens-Remaining` (docs/api.md) unless the route set it.
 */
export const requireSession = createMiddleware<AppEnv>(async (c, next) => {
  if (c.var.session) return next(); // already authenticated by an outer router
  const token = bearerToken(c.req.header("Authorization"));
  if (!token) throw unauthorized();
  const session = await findSession(c.env.DB, token);
  if (!session) throw unauthorized("The session is invalid, expired or revoked.");
  c.set("session", {
    id: session.id,
    accountId: session.accountId,
    kind: session.kind,
    resumed: session.resumed,
  });
  c.set("accountBlocked", session.blocked);
  c.set("accountMerged", session.merged);
  await next();
  if (!c.res.headers.has("X-Tokens-Remaining")) {
    const tokens = await wallet(c.env, session.accountId).balance();
    c.res.headers.set("X-Tokens-Remaining", String(tokens.available));
  }
});

/** For routes that anonymous sessions may not use (docs/api.md: 403 sign_in_required). */
export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  if (c.var.session.kind !== "user") {
    throw new ApiError(403, "sign_in_required", "Sign in to use this feature.");
  }
  await next();
});

/**
 * A blocked account (admin action) can read but not generate or redeem; nor
 * can an anonymous account whose tokens moved to a user: its browser signs in
 * to use them.
 */
export const requireActive = createMiddleware<AppEnv>(async (c, next) => {
  if (c.var.accountBlocked) {
    throw new ApiError(403, "forbidden", "This account is blocked. Contact support.");
  }
  if (c.var.accountMerged) {
    throw new ApiError(
      403,
      "sign_in_required",
      "This browser's tokens moved to your signed-in account. Sign in to continue.",
    );
  }
  await next();
});

/**
 * The generations a session may read. A signed-in session reads all of its
 * account's. An anonymous session reads only those made through itself: a
 * visitor id is not a secret, so another session for the same visitor id
 * must not reach its prompts and tickets. Rows from before generations
 * recorded their session belong to the account's original sessions, never to
 * one obtained later for a known visitor id (docs/decisions/009-access.md).
 */
export function ownGenerations(session: Session): SQL | undefined {
  const byAccount = eq(generations.accountId, session.accountId);
  if (session.kind === "user") return byAccount;
  return and(
    byAccount,
    session.resumed
      ? eq(generations.sessionId, session.id)
      : or(eq(generations.sessionId, session.id), isNull(generations.sessionId)),
  );
}
