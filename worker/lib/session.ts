import { and, eq, gt, isNull } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { db } from "../db/client";
import { accounts, sessions } from "../db/schema";
import type { AppEnv, Session } from "../env";
import { wallet } from "../wallet/client";
import { ApiError, unauthorized } from "./errors";
import { newId, randomToken, sha256Hex } from "./ids";

/** Sessions last this long; signing in again issues a new one. */
export const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** Issues a session: the token goes to the client once, only its hash is stored. */
export async function createSession(
  d1: D1Database,
  accountId: string,
  kind: Session["kind"],
  now = Date.now(),
): Promise<{ token: string; session: Session }> {
  const token = `myba_${randomToken(32)}`;
  const id = newId("ses");
  await db(d1)
    .insert(sessions)
    .values({
      id,
      accountId,
      kind,
      tokenHash: await sha256Hex(token),
      createdAt: new Date(now),
      expiresAt: new Date(now + SESSION_TTL_MS),
    });
  return { token, session: { id, accountId, kind } };
}

export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S{1,512})$/i.exec(header ?? "");
  return match?.[1] ?? null;
}

/** Resolves a bearer token to a live session of an active account, or null. */
export async function findSession(
  d1: D1Database,
  token: string,
): Promise<(Session & { blocked: boolean }) | null> {
  const rows = await db(d1)
    .select({
      id: sessions.id,
      accountId: sessions.accountId,
      kind: sessions.kind,
      status: accounts.status,
      mergedInto: accounts.mergedInto,
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
  // An anonymous account whose tokens moved to a user no longer acts on its own.
  if (!row || row.mergedInto) return null;
  return { id: row.id, accountId: row.accountId, kind: row.kind, blocked: row.status === "blocked" };
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
 * after the handler, `X-Tokens-Remaining` (API.md) unless the route set it.
 */
export const requireSession = createMiddleware<AppEnv>(async (c, next) => {
  if (c.var.session) return next(); // already authenticated by an outer router
  const token = bearerToken(c.req.header("Authorization"));
  if (!token) throw unauthorized();
  const session = await findSession(c.env.DB, token);
  if (!session) throw unauthorized("The session is invalid, expired or revoked.");
  c.set("session", { id: session.id, accountId: session.accountId, kind: session.kind });
  c.set("accountBlocked", session.blocked);
  await next();
  if (!c.res.headers.has("X-Tokens-Remaining")) {
    const tokens = await wallet(c.env, session.accountId).balance();
    c.res.headers.set("X-Tokens-Remaining", String(tokens.available));
  }
});

/** For routes that anonymous sessions may not use (API.md: 403 sign_in_required). */
export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  if (c.var.session.kind !== "user") {
    throw new ApiError(403, "sign_in_required", "Sign in to use this feature.");
  }
  await next();
});

/** A blocked account (admin action) can read but not generate or redeem. */
export const requireActive = createMiddleware<AppEnv>(async (c, next) => {
  if (c.var.accountBlocked) {
    throw new ApiError(403, "forbidden", "This account is blocked. Contact support.");
  }
  await next();
});
