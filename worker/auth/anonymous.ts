import { eq } from "drizzle-orm";
import { db } from "../db/client";
import { accounts } from "../db/schema";
import type { Env } from "../env";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { createSession } from "../lib/session";
import { wallet } from "../wallet/client";
import { accountView } from "./users";

/** Free tokens for a new anonymous visitor (docs/api.md, "Public routes"). */
export const FREE_TOKENS = 3;
export const DEFAULT_ANON_ACCOUNTS_PER_IP_PER_DAY = 10;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * `POST /api/anonymous`: a session for the visitor id's anonymous account,
 * creating the account (and its free grant) the first time.
 *
 * - Race-safe creation: the unique index on `visitor_id` lets exactly one of
 *   concurrent first calls insert; the others read the winner's row.
 * - The per-IP cap is checked inside the same INSERT statement, so a burst of
 *   new visitor ids from one address cannot slip past it between a count and
 *   an insert.
 * - The free grant is keyed `free:<visitorId>` in the account's wallet and
 *   requested on every call: a repeat is a no-op replay, and a first call that
 *   died between the insert and the grant is healed by the next one.
 * - A visitor id whose account moved to a signed-in user still gets a
 *   session for that (now empty) account, with nothing granted; spending with
 *   it is refused with `sign_in_required` (docs/decisions/002-identity.md).
 */
export async function anonymousSession(
  env: Env,
  visitorId: string,
  ip: string | null,
  opts: { now?: number; url?: string } = {},
) {
  const now = opts.now ?? Date.now();
  let account = await byVisitor(env, visitorId);
  let created = false;
  if (!account) {
    created = await insertCapped(env, visitorId, ip, now);
    account = await byVisitor(env, visitorId);
    if (!account) throw await rateLimited(env, ip ?? "", now);
  }
  // A merged account keeps its sessions (it can sign in and read) but gets
  // nothing: its free grant already moved, and asking again must not refill it.
  const tokens = account.mergedInto
    ? await wallet(env, account.id).balance()
    : await grantFree(env, account.id, visitorId);
  // A session for an account that already existed may be anyone's who
  // computed the same visitor id: it sees the balance, not the tickets.
  const { token } = await createSession(env, account.id, "anonymous", {
    now,
    resumed: !created,
    url: opts.url,
  });
  return { token, account: accountView(account), tokens, created };
}

async function grantFree(env: Env, accountId: string, visitorId: string) {
  const grant = await wallet(env, accountId).grant({
    key: `free:${visitorId}`,
    source: "free",
    amount: FREE_TOKENS,
    description: "Free tokens to try MyBA",
  });
  return "tokens" in grant ? grant.tokens : await wallet(env, accountId).balance();
}

export function anonCap(env: Env): number {
  const n = Number(env.ANON_ACCOUNTS_PER_IP_PER_DAY);
  return Number.isSafeInteger(n) && n >= 0 ? n : DEFAULT_ANON_ACCOUNTS_PER_IP_PER_DAY;
}

function byVisitor(env: Env, visitorId: string) {
  return db(env.DB).query.accounts.findFirst({ where: eq(accounts.visitorId, visitorId) });
}

/**
 * Inserts the anonymous account unless the IP already made `cap` accounts in
 * the last day. Without a client IP (never the case behind Cloudflare, which
 * always sets CF-Connecting-IP) there is nothing to count by.
 */
async function insertCapped(env: Env, visitorId: string, ip: string | null, now: number): Promise<boolean> {
  const result = await env.DB.prepare(
    `INSERT INTO accounts (id, kind, status, visitor_id, created_ip, created_at)
     SELECT ?1, 'anonymous', 'active', ?2, ?3, ?4
     WHERE ?3 IS NULL
        OR (SELECT count(*) FROM accounts WHERE created_ip = ?3 AND created_at > ?5) < ?6
     ON CONFLICT (visitor_id) DO NOTHING`,
  )
    .bind(newId("acc"), visitorId, ip, now, now - DAY_MS, anonCap(env))
    .run();
  // D1 counts the rows its triggers write too (the stats rollups), so "inserted" is any change.
  return (result.meta.changes ?? 0) > 0;
}

async function rateLimited(env: Env, ip: string, now: number): Promise<ApiError> {
  const oldest = await env.DB.prepare(
    "SELECT min(created_at) AS t FROM accounts WHERE created_ip = ?1 AND created_at > ?2",
  )
    .bind(ip, now - DAY_MS)
    .first<{ t: number | null }>();
  const retryAfter = Math.max(1, Math.ceil(((oldest?.t ?? now) + DAY_MS - now) / 1000));
  return new ApiError(
    429,
    "rate_limited",
    "Too many new anonymous sessions from this network today. Sign in, or try again later.",
    { retryAfter },
    { "Retry-After": String(retryAfter) },
  );
}
