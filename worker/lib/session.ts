import { type AnyColumn, and, eq, gt, isNull, or, type SQL, sql } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { db } from "../db/client";
import { accounts, generations, sessions } from "../db/schema";
import type { AppEnv, Env, Session } from "../env";
import { type WalletClient, wallet } from "../wallet/client";
import { ApiError, unauthorized } from "./errors";
import { newId, randomToken, sha256Hex } from "./ids";
import { log } from "./log";
import { isSignedFormat, sessionOf, signingKey, signToken, verifyToken } from "./token";

/**
 * A session lasts this long past its last renewal. Use renews it once less
 * than half is left, so someone who uses MyBA monthly stays signed in, up to
 * SESSION_MAX_AGE_MS after sign-in; then they sign in again.
 */
export const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;
export const SESSION_MAX_AGE_MS = 180 * 24 * 60 * 60 * 1000;

/** What issuing, renewing and revoking sessions reach: D1 and the account's wallet object. */
export type SessionEnv = Pick<Env, "DB" | "WALLET" | "SESSION_SIGNING_KEY">;

/**
 * Issues a session: the token goes to the client once, only its hash is
 * stored. With a signing key for this request's host (token.ts) the token is
 * signed, so the generate route can read it without D1; otherwise it is
 * opaque. Either way the D1 row is what every other route checks.
 */
export async function createSession(
  env: SessionEnv,
  accountId: string,
  kind: Session["kind"],
  opts: { now?: number; resumed?: boolean; url?: string | URL } = {},
): Promise<{ token: string; session: Session }> {
  const now = opts.now ?? Date.now();
  const id = newId("ses");
  const resumed = opts.resumed ?? false;
  const key = signingKey(env, opts.url);
  const token = key
    ? await signToken(key, { sid: id, acc: accountId, knd: kind, res: resumed ? 1 : 0, iat: now })
    : `myba_${randomToken(32)}`;
  const expiresAt = now + SESSION_TTL_MS;
  // D1 and the account's wallet hear of it at once: until the token is
  // answered nobody holds it, so neither order gives a right early. If the
  // push is lost the wallet reads the row on the session's first use.
  await Promise.all([
    db(env.DB)
      .insert(sessions)
      .values({
        id,
        accountId,
        kind,
        resumed,
        tokenHash: await sha256Hex(token),
        createdAt: new Date(now),
        expiresAt: new Date(expiresAt),
      }),
    tell(env, "opened", accountId, (w) => w.sessionOpened({ id, kind, resumed, expiresAt, createdAt: now })),
  ]);
  return { token, session: { id, accountId, kind, resumed } };
}

/**
 * A push that only saves the object a D1 read later (a session opened or
 * renewed): its failure is logged, never the caller's.
 */
async function tell(
  env: SessionEnv,
  what: string,
  walletId: string,
  push: (w: WalletClient) => Promise<void>,
): Promise<void> {
  try {
    await push(wallet(env, walletId));
  } catch (error) {
    log("warn", `session.${what}_push_failed`, { walletId, error: String(error) });
  }
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
  env: SessionEnv,
  token: string,
): Promise<(Session & { blocked: boolean; merged: boolean }) | null> {
  const rows = await db(env.DB)
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
  await renew(env, row);
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
async function renew(
  env: SessionEnv,
  row: { id: string; accountId: string; createdAt: Date; expiresAt: Date },
): Promise<void> {
  const now = Date.now();
  if (row.expiresAt.getTime() - now > SESSION_TTL_MS / 2) return;
  const expiresAt = Math.min(now + SESSION_TTL_MS, row.createdAt.getTime() + SESSION_MAX_AGE_MS);
  if (expiresAt <= row.expiresAt.getTime()) return;
  await db(env.DB)
    .update(sessions)
    .set({ expiresAt: new Date(expiresAt) })
    .where(and(eq(sessions.id, row.id), isNull(sessions.revokedAt)));
  // Gives time, so D1 first; a lost push is healed by the object's reread of an expired-looking row.
  await tell(env, "renewed", row.accountId, (w) => w.sessionRenewed({ sessionId: row.id, expiresAt }));
}

/**
 * Renewal for a session the generate route read from its signed token (no
 * D1 read on the way in): the wallet said when it expires; once less than
 * half is left, one D1 write renews it, after the answer (waitUntil).
 */
export async function renewIfDue(env: SessionEnv, session: Session, expiresAt: number): Promise<void> {
  const now = Date.now();
  if (expiresAt - now > SESSION_TTL_MS / 2) return;
  const row = await db(env.DB)
    .update(sessions)
    .set({
      expiresAt: sql`min(${now + SESSION_TTL_MS}, ${sessions.createdAt} + ${SESSION_MAX_AGE_MS})`,
    })
    .where(
      and(
        eq(sessions.id, session.id),
        isNull(sessions.revokedAt),
        sql`${sessions.expiresAt} < min(${now + SESSION_TTL_MS}, ${sessions.createdAt} + ${SESSION_MAX_AGE_MS})`,
      ),
    )
    .returning({ expiresAt: sessions.expiresAt })
    .get();
  if (!row) return;
  await tell(env, "renewed", session.accountId, (w) =>
    w.sessionRenewed({ sessionId: session.id, expiresAt: row.expiresAt.getTime() }),
  );
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

/**
 * Revokes one session; a revoked session stays revoked. It takes a right
 * away, so the account's wallet is told first (the generate route asks it,
 * not D1): if that fails nothing changed and the caller's error says so.
 */
export async function revokeSession(
  env: SessionEnv,
  session: { id: string; accountId: string },
  now = Date.now(),
): Promise<void> {
  await wallet(env, session.accountId).sessionRevoked({ sessionId: session.id, at: now });
  await db(env.DB)
    .update(sessions)
    .set({ revokedAt: new Date(now) })
    .where(and(eq(sessions.id, session.id), isNull(sessions.revokedAt)));
}

/**
 * Requires `Authorization: Bearer <session token>`, checked in D1 (revoked,
 * expired, blocked, merged; sliding renewal); sets `c.var.session` and,
 * after the handler, `X-Tokens-Remaining` (docs/api.md) unless the route set it.
 */
export const requireSession = createMiddleware<AppEnv>(async (c, next) => {
  if (c.var.session) return next(); // already authenticated by an outer router
  const token = bearerToken(c.req.header("Authorization"));
  if (!token) throw unauthorized();
  await fromD1(c, token);
  await next();
  await tokensHeader(c);
});

/**
 * For the generate route: a signed token is read with no I/O and trusted for
 * who is asking; whether that session may still spend (revoked, expired,
 * account blocked or merged) is then answered by the account's wallet object
 * (Wallet.authorize, access.ts), which the request reaches anyway. Any other
 * token (opaque, or signed with a key this server no longer has) is looked
 * up in D1 as requireSession does (docs/decisions/017-access-in-the-object.md).
 */
export const requireSessionClaim = createMiddleware<AppEnv>(async (c, next) => {
  if (c.var.session) return next();
  const token = bearerToken(c.req.header("Authorization"));
  if (!token) throw unauthorized();
  const key = signingKey(c.env, c.req.url);
  const claim = key && isSignedFormat(token) ? await verifyToken(key, token) : null;
  if (claim) {
    c.set("session", sessionOf(claim));
    c.set("accountBlocked", false);
    c.set("accountMerged", false);
  } else {
    await fromD1(c, token);
  }
  await next();
  // The wallet found the session dead (revoked, expired): it reads nothing, not even the balance.
  if (c.res.status !== 401) await tokensHeader(c);
});

async function fromD1(c: Context<AppEnv>, token: string): Promise<void> {
  const session = await findSession(c.env, token);
  if (!session) throw unauthorized("The session is invalid, expired or revoked.");
  c.set("session", {
    id: session.id,
    accountId: session.accountId,
    kind: session.kind,
    resumed: session.resumed,
  });
  c.set("accountBlocked", session.blocked);
  c.set("accountMerged", session.merged);
}

async function tokensHeader(c: Context<AppEnv>): Promise<void> {
  if (!c.res.headers.has("X-Tokens-Remaining")) {
    const tokens = await wallet(c.env, c.var.session.accountId).balance();
    c.res.headers.set("X-Tokens-Remaining", String(tokens.available));
  }
}

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
  if (c.var.accountBlocked) throw accountBlocked();
  if (c.var.accountMerged) throw accountMerged();
  await next();
});

const accountBlocked = () => new ApiError(403, "forbidden", "This account is blocked. Contact support.");
const accountMerged = () =>
  new ApiError(
    403,
    "sign_in_required",
    "This browser's tokens moved to your signed-in account. Sign in to continue.",
  );

/**
 * The account wallet's verdict on a session (Wallet.authorize, access.ts) as
 * the same HTTP answers requireSession and requireActive give.
 */
export function sessionRefusal(
  code: "unauthorized" | "account_blocked" | "account_merged" | string,
): ApiError {
  if (code === "account_blocked") return accountBlocked();
  if (code === "account_merged") return accountMerged();
  return unauthorized("The session is invalid, expired or revoked.");
}

/**
 * The generations a session may read. A signed-in session reads all of its
 * account's. An anonymous session reads only those made through itself: a
 * visitor id is not a secret, so another session for the same visitor id
 * must not reach its prompts and tickets. Rows from before generations
 * recorded their session belong to the account's original sessions, never to
 * one obtained later for a known visitor id (docs/decisions/009-access.md).
 */
export function ownGenerations(
  session: Session,
  t: { accountId: AnyColumn; sessionId: AnyColumn } = generations,
): SQL | undefined {
  const byAccount = eq(t.accountId, session.accountId);
  if (session.kind === "user") return byAccount;
  return and(
    byAccount,
    session.resumed ? eq(t.sessionId, session.id) : or(eq(t.sessionId, session.id), isNull(t.sessionId)),
  );
}

/** The same rule for one generation's session, as ownGenerations reads it. */
export function ownsSession(session: Session, sessionId: string | null): boolean {
  if (session.kind === "user") return true;
  return sessionId === session.id || (!session.resumed && sessionId === null);
}
