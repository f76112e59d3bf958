import { and, eq } from "drizzle-orm";
import { type Db, db } from "../db/client";
import { accounts, identities, type TeamRole, teamInvites } from "../db/schema";
import { ApiError, forbidden, notFound } from "../lib/errors";
import { newId, randomToken, sha256Hex } from "../lib/ids";
import { membership } from "./membership";

/** An invite is good for this long (docs/api.md: 7 days by default). */
export const INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export interface NewInvite {
  email?: string | null;
  role: Exclude<TeamRole, "owner">;
  monthlyLimit: number | null;
}

/**
 * A single-use code for `teamId`. The code is shown once; only its SHA-256 is
 * stored, so the table cannot be replayed into memberships.
 */
export async function createInvite(
  d: Db,
  teamId: string,
  createdBy: string,
  invite: NewInvite,
  now = Date.now(),
) {
  const code = `myba_inv_${randomToken(18)}`;
  const expiresAt = new Date(now + INVITE_TTL_MS);
  const email = invite.email ? invite.email.trim().toLowerCase() : null;
  await d.insert(teamInvites).values({
    id: newId("inv"),
    teamId,
    codeHash: await sha256Hex(code),
    email,
    role: invite.role,
    monthlyLimit: invite.monthlyLimit,
    createdBy,
    createdAt: new Date(now),
    expiresAt,
  });
  return {
    code,
    expiresAt: expiresAt.toISOString(),
    ...(email ? { email } : {}),
    role: invite.role,
    monthlyLimit: invite.monthlyLimit,
  };
}

const inviteNotFound = () => notFound("The invite code");

/**
 * Joins the team an invite names. Unknown, used and expired codes are the
 * same 404, so a code's answer tells nothing about other codes. The use of
 * the code and the new membership are one D1 batch (one transaction): the
 * UPDATE claims the code only while it is unused, unexpired and the caller is
 * not yet a member, and the INSERT admits exactly the caller who claimed it.
 * Two people racing for one code: one joins, the other gets the 404.
 */
export async function redeemInvite(d1: D1Database, code: string, accountId: string, now = Date.now()) {
  const d = db(d1);
  const invite = await d.query.teamInvites.findFirst({
    where: eq(teamInvites.codeHash, await sha256Hex(code)),
  });
  if (!invite || invite.usedAt || invite.expiresAt.getTime() <= now) throw inviteNotFound();
  if (invite.email && !(await hasVerifiedEmail(d, accountId, invite.email))) {
    throw forbidden("This invite is for another email address. Sign in with the address it was sent to.");
  }
  if (await membership(d, invite.teamId, accountId)) throw alreadyMember();

  const usedAt = now;
  const [claimed] = await d1.batch([
    d1
      .prepare(
        `UPDATE team_invites SET used_by = ?2, used_at = ?3
          WHERE id = ?1 AND used_at IS NULL AND expires_at > ?3
            AND NOT EXISTS (SELECT 1 FROM team_members m
                             WHERE m.team_id = team_invites.team_id AND m.account_id = ?2)
          RETURNING id`,
      )
      .bind(invite.id, accountId, usedAt),
    d1
      .prepare(
        `INSERT INTO team_members (team_id, account_id, role, monthly_limit, joined_at)
         SELECT team_id, ?2, role, monthly_limit, ?3 FROM team_invites
          WHERE id = ?1 AND used_by = ?2 AND used_at = ?3
         ON CONFLICT DO NOTHING`,
      )
      .bind(invite.id, accountId, usedAt),
  ]);
  // RETURNING, not meta.changes: D1 also counts rows that triggers write.
  if ((claimed?.results.length ?? 0) !== 1) {
    // Lost a race: to another redeemer of this code, or to our own other join.
    if (await membership(d, invite.teamId, accountId)) throw alreadyMember();
    throw inviteNotFound();
  }
  const role = invite.role as TeamRole;
  return { teamId: invite.teamId, role, monthlyLimit: invite.monthlyLimit };
}

const alreadyMember = () => new ApiError(409, "already_member", "You are already a member of this team.");

/** The account's email (set only from a verified one) or a verified email of a linked identity. */
async function hasVerifiedEmail(d: Db, accountId: string, email: string): Promise<boolean> {
  const [account, identity] = await Promise.all([
    d.query.accounts.findFirst({ where: and(eq(accounts.id, accountId), eq(accounts.email, email)) }),
    d.query.identities.findFirst({
      where: and(
        eq(identities.accountId, accountId),
        eq(identities.email, email),
        eq(identities.emailVerified, true),
      ),
    }),
  ]);
  return Boolean(account || identity);
}
