// What D1 says about who may spend from a wallet: the reads access.ts makes
// when the object lacks something (or its owner state is old). D1 stays the
// record; the object applies what these return without overwriting a push.

/** A team wallet's id (teams/membership.ts TEAM_ID); any other wallet is an account's. */
export const TEAM_WALLET = /^team_/;

export interface SessionRow extends Record<string, SqlStorageValue> {
  id: string;
  kind: string;
  resumed: number;
  expires_at: number;
  revoked_at: number | null;
  created_at: number;
}

export interface MemberRow extends Record<string, SqlStorageValue> {
  account_id: string;
  role: string;
  monthly_limit: number | null;
}

/** The owner's state: an account's status, merged mark and plan; a team's active subscription plan. */
export interface OwnerSource {
  status: string;
  merged: boolean;
  plan: string | null;
}

/** A session of this account by id, whatever its state (null: none). */
export function readSession(d1: D1Database, sessionId: string, accountId: string | null) {
  return d1
    .prepare(
      `SELECT id, kind, resumed, expires_at, revoked_at, created_at FROM sessions
        WHERE id = ? AND account_id = ?`,
    )
    .bind(sessionId, accountId)
    .first<SessionRow>();
}

/** The wallet's owner as D1 has it (null: no such account yet). */
export async function readOwner(d1: D1Database, walletId: string): Promise<OwnerSource | null> {
  if (TEAM_WALLET.test(walletId)) {
    const plan = await d1
      .prepare(
        `SELECT plan_id AS plan FROM subscriptions
          WHERE coalesce(wallet_id, account_id) = ? AND status = 'active'
          ORDER BY created_at DESC LIMIT 1`,
      )
      .bind(walletId)
      .first<{ plan: string }>();
    return { status: "active", merged: false, plan: plan?.plan ?? null };
  }
  const account = await d1
    .prepare("SELECT status, merged_into, plan FROM accounts WHERE id = ?")
    .bind(walletId)
    .first<{ status: string; merged_into: string | null; plan: string | null }>();
  return account
    ? { status: account.status, merged: account.merged_into !== null, plan: account.plan }
    : null;
}

/** A team's members. */
export async function readMembers(d1: D1Database, teamId: string): Promise<MemberRow[]> {
  const rows = await d1
    .prepare("SELECT account_id, role, monthly_limit FROM team_members WHERE team_id = ?")
    .bind(teamId)
    .all<MemberRow>();
  return rows.results;
}

/** One member of a team (null: not a member). */
export function readMember(d1: D1Database, teamId: string, accountId: string) {
  return d1
    .prepare("SELECT account_id, role, monthly_limit FROM team_members WHERE team_id = ? AND account_id = ?")
    .bind(teamId, accountId)
    .first<MemberRow>();
}
