import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import type { TeamRole } from "../db/schema";
import { ApiError, forbidden, notFound } from "../lib/errors";
import { type Membership, membership } from "./membership";

/**
 * Role and limit changes and removals, with the rules of docs/api.md "Teams":
 * owners and admins manage members; only an owner grants, changes or removes
 * an owner; a member may remove themself; a team never loses its last owner.
 *
 * "Never the last owner" is a condition of the UPDATE / DELETE statement
 * itself (a count of the team's owners in the same statement), so two owners
 * demoting each other at once cannot both succeed.
 */

const lastOwner = () =>
  new ApiError(409, "last_owner", "A team needs an owner: make someone else an owner first.");

export interface MemberChange {
  role?: TeamRole;
  monthlyLimit?: number | null;
}

/**
 * Runs once the caller may make the change, right before the D1 write: the
 * team's wallet is told what takes rights away first (docs/decisions/017).
 */
export type BeforeWrite = (target: Membership) => Promise<void>;

export async function changeMember(
  d: Db,
  caller: Membership,
  targetId: string,
  change: MemberChange,
  beforeWrite?: BeforeWrite,
) {
  if (caller.role === "member") throw forbidden("Only the team's owners and admins change members.");
  const target = await membership(d, caller.teamId, targetId);
  if (!target) throw notFound("The member");
  if (caller.role !== "owner" && (target.role === "owner" || change.role === "owner")) {
    throw forbidden("Only an owner grants or changes the owner role.");
  }
  await beforeWrite?.(target);
  const role = change.role ?? null;
  const setLimit = change.monthlyLimit !== undefined ? 1 : 0;
  const limit = change.monthlyLimit ?? null;
  const rows = await d.all<{ role: TeamRole; monthly_limit: number | null }>(sql`
    UPDATE team_members
       SET role = coalesce(${role}, role),
           monthly_limit = CASE WHEN ${setLimit} = 1 THEN ${limit} ELSE monthly_limit END
     WHERE team_id = ${caller.teamId} AND account_id = ${targetId}
       AND NOT (role = 'owner' AND coalesce(${role}, 'owner') <> 'owner'
                AND (SELECT count(*) FROM team_members o
                      WHERE o.team_id = ${caller.teamId} AND o.role = 'owner') <= 1)
    RETURNING role, monthly_limit`);
  const row = rows[0];
  if (!row) {
    if (await membership(d, caller.teamId, targetId)) throw lastOwner();
    throw notFound("The member");
  }
  return { ...target, role: row.role, monthlyLimit: row.monthly_limit };
}

export async function removeMember(
  d: Db,
  caller: Membership,
  targetId: string,
  beforeWrite?: BeforeWrite,
): Promise<void> {
  const self = caller.accountId === targetId;
  if (!self && caller.role === "member") throw forbidden("Only the team's owners and admins remove members.");
  const target = self ? caller : await membership(d, caller.teamId, targetId);
  if (!target) throw notFound("The member");
  if (!self && caller.role !== "owner" && target.role === "owner") {
    throw forbidden("Only an owner removes an owner.");
  }
  await beforeWrite?.(target);
  const rows = await d.all<{ account_id: string }>(sql`
    DELETE FROM team_members
     WHERE team_id = ${caller.teamId} AND account_id = ${targetId}
       AND (role <> 'owner'
            OR (SELECT count(*) FROM team_members o
                 WHERE o.team_id = ${caller.teamId} AND o.role = 'owner') > 1)
    RETURNING account_id`);
  if (rows.length === 0) {
    if (await membership(d, caller.teamId, targetId)) throw lastOwner();
    throw notFound("The member");
  }
}
