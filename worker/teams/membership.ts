import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { type TeamRole, teamMembers } from "../db/schema";

export interface Membership {
  teamId: string;
  accountId: string;
  role: TeamRole;
  monthlyLimit: number | null;
}

/** What a team id looks like (`team_` + a lower-case ULID today). */
export const TEAM_ID = /^team_[0-9A-Za-z]{10,40}$/;

/** The caller's membership of a team, or null (not a member / no such team). */
export async function membership(d: Db, teamId: string, accountId: string): Promise<Membership | null> {
  if (!TEAM_ID.test(teamId)) return null;
  const row = await d
    .select({
      teamId: teamMembers.teamId,
      accountId: teamMembers.accountId,
      role: teamMembers.role,
      monthlyLimit: teamMembers.monthlyLimit,
    })
    .from(teamMembers)
    .where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.accountId, accountId)))
    .get();
  return row ?? null;
}
