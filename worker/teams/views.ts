import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "../db/client";
import { accounts, type TeamRole, teamMembers, teams } from "../db/schema";
import type { Env } from "../env";
import { wallet } from "../wallet/client";
import type { Tokens } from "../wallet/types";

/** A member's own monthly figures on a team wallet (docs/api.md, `limit`). */
export interface LimitView {
  monthly: number | null;
  spent: number;
  resetsAt: string;
}

/**
 * What members spent from the team wallet this UTC month, read from the
 * wallet object (which enforces the limits, so this is the same figure it
 * checks). Members without activity are missing there: 0.
 */
export async function memberSpend(env: Env, teamId: string, accountIds?: string[]) {
  const r = await wallet(env, teamId).memberSpend(accountIds ? { accountIds } : {});
  const spent = new Map(r.members.map((m) => [m.accountId, m.spent]));
  return { resetsAt: r.resetsAt, periodStart: r.periodStart, spentOf: (id: string) => spent.get(id) ?? 0 };
}

export interface TeamSummary {
  id: string;
  name: string;
  role: TeamRole;
  tokens: Tokens;
  limit: LimitView;
}

/** The caller's teams with the team's balance and the caller's own limit, oldest membership first. */
export async function teamsOf(env: Env, d: Db, accountId: string): Promise<TeamSummary[]> {
  const rows = await d
    .select({
      id: teams.id,
      name: teams.name,
      role: teamMembers.role,
      monthlyLimit: teamMembers.monthlyLimit,
    })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .where(eq(teamMembers.accountId, accountId))
    .orderBy(teamMembers.joinedAt)
    .limit(100);
  return Promise.all(
    rows.map(async (t) => {
      const [tokens, spend] = await Promise.all([
        wallet(env, t.id).balance(),
        memberSpend(env, t.id, [accountId]),
      ]);
      return {
        id: t.id,
        name: t.name,
        role: t.role,
        tokens,
        limit: { monthly: t.monthlyLimit, spent: spend.spentOf(accountId), resetsAt: spend.resetsAt },
      };
    }),
  );
}

export interface MemberView {
  accountId: string;
  email?: string;
  name?: string;
  role: TeamRole;
  monthlyLimit: number | null;
  spent: number;
  joinedAt: string;
}

/** Members of a team (all, or only `onlyAccountId`), with their spend this month. */
export async function membersOf(
  env: Env,
  d: Db,
  teamId: string,
  onlyAccountId?: string,
): Promise<MemberView[]> {
  const rows = await d
    .select({
      accountId: teamMembers.accountId,
      role: teamMembers.role,
      monthlyLimit: teamMembers.monthlyLimit,
      joinedAt: teamMembers.joinedAt,
      email: accounts.email,
      name: accounts.name,
    })
    .from(teamMembers)
    .leftJoin(accounts, eq(accounts.id, teamMembers.accountId))
    .where(
      and(
        eq(teamMembers.teamId, teamId),
        onlyAccountId ? inArray(teamMembers.accountId, [onlyAccountId]) : undefined,
      ),
    )
    .orderBy(teamMembers.joinedAt);
  const spend = await memberSpend(env, teamId, onlyAccountId ? [onlyAccountId] : undefined);
  return rows.map((m) => ({
    accountId: m.accountId,
    ...(m.email ? { email: m.email } : {}),
    ...(m.name ? { name: m.name } : {}),
    role: m.role,
    monthlyLimit: m.monthlyLimit,
    spent: spend.spentOf(m.accountId),
    joinedAt: m.joinedAt.toISOString(),
  }));
}
