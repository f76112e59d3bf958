import { and, eq, isNull } from "drizzle-orm";
import { db } from "../db/client";
import { accounts } from "../db/schema";
import type { Env } from "../env";
import { notFound } from "../lib/errors";
import { log } from "../lib/log";
import { createSession, sessionByToken } from "../lib/session";
import { wallet } from "../wallet/client";
import { type AccountRow, accountView } from "./users";

/** Tokens granted once per user on first sign-in (API.md, "Sign-in"). */
export const WELCOME_TOKENS = 6;

/**
 * Everything a sign-in does after the person is known, shared by the OAuth
 * code exchange and dev-login: a session, the welcome bonus once per user,
 * and the anonymous remainder moved once. Answers API.md's sign-in shape.
 */
export async function completeSignIn(
  env: Env,
  accountId: string,
  opts: { anonymousToken?: string; token?: string } = {},
) {
  const account = await db(env.DB).query.accounts.findFirst({ where: eq(accounts.id, accountId) });
  if (!account) throw notFound("The account");
  const token = opts.token ?? (await createSession(env.DB, account.id, "user")).token;
  const welcomeGranted = await grantWelcome(env, account);
  const transferred = opts.anonymousToken ? await moveAnonymous(env, account.id, opts.anonymousToken) : 0;
  const tokens = await wallet(env, account.id).balance();
  return { token, account: accountView(account), tokens, transferred, welcomeGranted };
}

/**
 * The wallet grant keyed `welcome:<userId>` is what makes it once: a replay
 * (two first sign-ins at the same moment, or one that stopped before
 * recording `welcomeGrantedAt`) reports not granted. The column only spares
 * later sign-ins the wallet call.
 */
async function grantWelcome(env: Env, account: AccountRow): Promise<boolean> {
  if (account.welcomeGrantedAt) return false;
  const result = await wallet(env, account.id).grant({
    key: `welcome:${account.id}`,
    source: "welcome",
    amount: WELCOME_TOKENS,
    description: "Welcome bonus for signing in",
  });
  const settled = result.ok || result.code === "idempotency_conflict";
  if (settled) {
    await db(env.DB)
      .update(accounts)
      .set({ welcomeGrantedAt: new Date() })
      .where(and(eq(accounts.id, account.id), isNull(accounts.welcomeGrantedAt)));
  } else {
    log("warn", "auth.welcome_failed", { accountId: account.id, code: result.code });
  }
  return result.ok && !replayed(result);
}

/**
 * Moves what an anonymous account has left to the user, exactly once: the
 * anonymous wallet's transfer is keyed `signin:<anonId>` and fingerprinted
 * with its target, so a repeat moves nothing and another user's attempt is an
 * idempotency conflict. `mergedInto` is written after, which also stops the
 * anonymous sessions from spending (requireActive refuses merged accounts); if
 * that write is lost, the next sign-in with the same token replays the
 * transfer and writes it.
 *
 * An unusable anonymousToken (unknown, expired, revoked, not anonymous)
 * transfers 0 rather than failing the sign-in.
 */
async function moveAnonymous(env: Env, userId: string, anonymousToken: string): Promise<number> {
  const anon = await sessionByToken(env.DB, anonymousToken);
  if (!anon?.live || anon.accountKind !== "anonymous" || anon.kind !== "anonymous") return 0;
  if (anon.mergedInto && anon.mergedInto !== userId) return 0;
  const result = await wallet(env, anon.accountId).transfer({
    key: `signin:${anon.accountId}`,
    to: userId,
    description: "Tokens from your anonymous session",
  });
  if (!result.ok) {
    if (result.code !== "idempotency_conflict") {
      log("warn", "auth.transfer_failed", { from: anon.accountId, to: userId, code: result.code });
    }
    return 0;
  }
  await db(env.DB)
    .update(accounts)
    .set({ mergedInto: userId })
    .where(and(eq(accounts.id, anon.accountId), isNull(accounts.mergedInto)));
  return replayed(result) ? 0 : result.moved;
}

/** The wallet marks a repeated idempotent call's stored result with `replayed`. */
function replayed(result: object): boolean {
  return "replayed" in result && result.replayed === true;
}
