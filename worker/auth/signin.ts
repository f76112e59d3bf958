import { and, eq, isNull, ne } from "drizzle-orm";
import { db } from "../db/client";
import { accounts, generations, ledgerEntries } from "../db/schema";
import type { Env, Session } from "../env";
import { FOLDED } from "../lib/entries";
import { notFound } from "../lib/errors";
import { moveTickets } from "../lib/history";
import { log } from "../lib/log";
import { createSession, ownGenerations, sessionByToken } from "../lib/session";
import { wallet } from "../wallet/client";
import { type AccountRow, accountView } from "./users";

/** Tokens granted once per user on first sign-in (docs/api.md, "Sign-in"). */
export const WELCOME_TOKENS = 6;
/** New users receiving the welcome bonus per client address per day (WELCOME_ACCOUNTS_PER_IP_PER_DAY). */
export const DEFAULT_WELCOME_ACCOUNTS_PER_IP_PER_DAY = 5;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Everything a sign-in does after the person is known, shared by the OAuth
 * code exchange and dev-login: a session, the welcome bonus once per user,
 * and the anonymous remainder moved once. Answers docs/api.md's sign-in shape.
 */
export async function completeSignIn(
  env: Env,
  accountId: string,
  opts: { anonymousToken?: string; token?: string; ip?: string | null; url?: string } = {},
) {
  const now = Date.now();
  const account = await db(env.DB).query.accounts.findFirst({ where: eq(accounts.id, accountId) });
  if (!account) throw notFound("The account");
  const token = opts.token ?? (await createSession(env, account.id, "user", { url: opts.url })).token;
  const welcomeGranted = await grantWelcome(env, account, opts.ip ?? null, now);
  const transferred = opts.anonymousToken ? await moveAnonymous(env, account.id, opts.anonymousToken) : 0;
  const tokens = await wallet(env, account.id).balance();
  return { token, account: accountView(account), tokens, transferred, welcomeGranted };
}

/**
 * The welcome bonus, once per user and for at most WELCOME_ACCOUNTS_PER_IP_PER_DAY
 * users per address a day (a script can mint OAuth identities).
 *
 * The claim is one conditional UPDATE: it sets `welcomeGrantedAt` only while
 * the address is under its cap, so concurrent sign-ins cannot pass between a
 * count and a write. The wallet grant keyed `welcome:<userId>` then makes it
 * once; it is requested again on every later sign-in of a claimed account, a
 * replay that heals a sign-in which stopped between claim and grant. A user
 * refused by the cap gets the bonus on a later sign-in under the cap.
 */
async function grantWelcome(env: Env, account: AccountRow, ip: string | null, now: number): Promise<boolean> {
  if (!account.welcomeGrantedAt && !(await claimWelcome(env, account.id, ip, now))) return false;
  const result = await wallet(env, account.id).grant({
    key: `welcome:${account.id}`,
    source: "welcome",
    amount: WELCOME_TOKENS,
    description: "Welcome bonus for signing in",
  });
  if (!result.ok && result.code !== "idempotency_conflict") {
    log("warn", "auth.welcome_failed", { accountId: account.id, code: result.code });
  }
  return result.ok && !replayed(result);
}

export function welcomeCap(env: Env): number {
  const n = Number(env.WELCOME_ACCOUNTS_PER_IP_PER_DAY);
  return env.WELCOME_ACCOUNTS_PER_IP_PER_DAY && Number.isSafeInteger(n) && n >= 0
    ? n
    : DEFAULT_WELCOME_ACCOUNTS_PER_IP_PER_DAY;
}

async function claimWelcome(env: Env, accountId: string, ip: string | null, now: number): Promise<boolean> {
  const result = await env.DB.prepare(
    `UPDATE accounts SET welcome_granted_at = ?1, welcome_ip = ?2
     WHERE id = ?3 AND welcome_granted_at IS NULL
       AND (?2 IS NULL
         OR (SELECT count(*) FROM accounts WHERE welcome_ip = ?2 AND welcome_granted_at > ?4) < ?5)
     RETURNING id`,
  )
    .bind(now, ip, accountId, now - DAY_MS, welcomeCap(env))
    .all();
  // RETURNING, not meta.changes: D1 also counts rows that triggers write.
  const claimed = result.results.length === 1;
  if (!claimed) log("info", "auth.welcome_capped", { accountId });
  return claimed;
}

/**
 * Moves what an anonymous session brought to the user, once: its remaining
 * tokens and its tickets.
 *
 * Tokens: the anonymous wallet's transfer is keyed `signin:<anonId>` and
 * fingerprinted with its target, so a repeat moves nothing and another user's
 * attempt is an idempotency conflict. `mergedInto` is written after (the
 * anonymous wallet told first), which also stops the anonymous sessions from
 * spending (requireActive and the wallet refuse merged accounts); if that
 * write is lost, the next sign-in with the same token replays the transfer
 * and writes it. A session obtained for a visitor
 * id whose account already existed (`resumed`) moves no tokens: a visitor id
 * is not a secret, and its sign-in must not empty another browser's account.
 *
 * Tickets: the generations this session may read (ownGenerations) move to the
 * user, finished ones only (a running one settles by id wherever it is): from
 * the anonymous wallet object to the user's (moveTickets), and D1's rows. Once
 * moved they are the user's, so a second sign-in finds none.
 *
 * An unusable anonymousToken (unknown, expired, revoked, not anonymous)
 * transfers 0 rather than failing the sign-in.
 */
async function moveAnonymous(env: Env, userId: string, anonymousToken: string): Promise<number> {
  const anon = await sessionByToken(env.DB, anonymousToken);
  if (!anon?.live || anon.accountKind !== "anonymous" || anon.kind !== "anonymous") return 0;
  if (anon.mergedInto && anon.mergedInto !== userId) return 0;
  const moved = anon.resumed ? 0 : await moveTokens(env, anon.accountId, userId);
  if (moved === null) return 0;
  await moveGenerations(
    env,
    { id: anon.id, accountId: anon.accountId, kind: "anonymous", resumed: anon.resumed },
    userId,
  );
  return moved;
}

/** The anonymous wallet's remainder to the user; null when another user already took it. */
async function moveTokens(env: Env, anonId: string, userId: string): Promise<number | null> {
  const result = await wallet(env, anonId).transfer({
    key: `signin:${anonId}`,
    to: userId,
    description: "Tokens from your anonymous session",
  });
  if (!result.ok) {
    if (result.code !== "idempotency_conflict") {
      log("warn", "auth.transfer_failed", { from: anonId, to: userId, code: result.code });
    }
    return null;
  }
  // Merged takes the right to spend away: the anonymous wallet hears it first, then D1.
  await wallet(env, anonId).setOwnerState({ merged: true });
  await db(env.DB)
    .update(accounts)
    .set({ mergedInto: userId })
    .where(and(eq(accounts.id, anonId), isNull(accounts.mergedInto)));
  return replayed(result) ? 0 : result.moved;
}

async function moveGenerations(env: Env, session: Session, userId: string): Promise<void> {
  // The records kept in the anonymous object first (docs/decisions/018), then
  // D1: its metadata rows of those, and legacy rows whose text is still there.
  // An object that cannot be reached does not fail the sign-in: the records
  // stay where they are, readable by nobody else, and the next sign-in with
  // this token moves them (each step is idempotent).
  await moveTickets(env, session, userId).catch((error: unknown) =>
    log("warn", "auth.tickets_not_moved", { from: session.accountId, to: userId, error: String(error) }),
  );
  // OR IGNORE: a clash on (account, idempotency key) with one of the user's
  // own rows leaves that one ticket behind rather than failing the sign-in.
  const own = ownGenerations(session);
  const d = db(env.DB);
  const query = d
    .update(generations)
    .set({ accountId: userId })
    .where(and(own, ne(generations.status, "pending")))
    .toSQL();
  // A charged generation paid by the anonymous wallet is its usage entry
  // (docs/decisions/021): the entry stays in that wallet's ledger, its
  // generation is the user's from now on.
  const folded = d
    .update(ledgerEntries)
    .set({ accountId: userId })
    .where(
      and(
        ownGenerations(session, { accountId: ledgerEntries.walletId, sessionId: ledgerEntries.sessionId }),
        eq(ledgerEntries.generationRollup, FOLDED),
        isNull(ledgerEntries.accountId),
      ),
    )
    .toSQL();
  await env.DB.batch([
    env.DB.prepare(query.sql.replace(/^update /i, "update or ignore ")).bind(...query.params),
    env.DB.prepare(folded.sql).bind(...folded.params),
  ]);
}

/** The wallet marks a repeated idempotent call's stored result with `replayed`. */
function replayed(result: object): boolean {
  return "replayed" in result && result.replayed === true;
}
