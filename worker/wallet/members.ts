import { memberLimitReached } from "./failures";
import type { MemberArgs, MemberSpend, WalletFailure } from "./types";

/**
 * Members of a shared (team) wallet: their monthly limits and spend
 * (docs/decisions/010-teams-wallet.md). A member's spend in a UTC calendar
 * month is what their holds settled in that month burned; their open holds
 * count against the limit too, so concurrent requests cannot overshoot it.
 * Every function here runs inside the wallet's transaction.
 */

/** Start of the UTC calendar month holding `now` (epoch ms). */
export function monthStart(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** Start of the next UTC calendar month: when limits reset. */
export function nextMonthStart(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Tokens the member's open holds take (a hold past its deadline can no longer settle: it counts nothing). */
function heldBy(sql: SqlStorage, accountId: string, now: number): number {
  return sql
    .exec<{ n: number }>(
      "SELECT coalesce(sum(amount), 0) AS n FROM holds WHERE member_id = ? AND status = 'open' AND deadline > ?",
      accountId,
      now,
    )
    .one().n;
}

function spentBy(sql: SqlStorage, accountId: string, now: number): number {
  return (
    sql
      .exec<{ spent: number }>(
        "SELECT spent FROM member_spend WHERE member_id = ? AND period_start = ?",
        accountId,
        monthStart(now),
      )
      .toArray()[0]?.spent ?? 0
  );
}

/** Null when `amount` fits in the member's limit this month; otherwise the refusal. */
export function checkLimit(
  sql: SqlStorage,
  member: MemberArgs,
  amount: number,
  now: number,
): WalletFailure | null {
  if (member.monthlyLimit === null) return null;
  const spent = spentBy(sql, member.accountId, now);
  const held = heldBy(sql, member.accountId, now);
  if (spent + held + amount <= member.monthlyLimit) return null;
  return memberLimitReached({
    limit: member.monthlyLimit,
    spent,
    held,
    required: amount,
    resetsAt: new Date(nextMonthStart(now)).toISOString(),
  });
}

/** Counts what a member's settled hold burned toward the month it was settled in. */
export function recordSpend(sql: SqlStorage, accountId: string, burned: number, now: number): void {
  if (burned === 0) return;
  sql.exec(
    `INSERT INTO member_spend (member_id, period_start, spent) VALUES (?, ?, ?)
     ON CONFLICT (member_id, period_start) DO UPDATE SET spent = spent + excluded.spent`,
    accountId,
    monthStart(now),
    burned,
  );
}

/** This month's spend and open holds per member; members with neither are left out. */
export function memberSpend(sql: SqlStorage, now: number, accountIds?: string[]): MemberSpend {
  const period = monthStart(now);
  const members = new Map<string, { accountId: string; spent: number; held: number }>();
  const row = (id: string) => {
    const m = members.get(id) ?? { accountId: id, spent: 0, held: 0 };
    members.set(id, m);
    return m;
  };
  const spent = sql
    .exec<{ member_id: string; spent: number }>(
      "SELECT member_id, spent FROM member_spend WHERE period_start = ?",
      period,
    )
    .toArray();
  for (const s of spent) row(s.member_id).spent = s.spent;
  const held = sql
    .exec<{ member_id: string; held: number }>(
      `SELECT member_id, sum(amount) AS held FROM holds
       WHERE member_id IS NOT NULL AND status = 'open' AND deadline > ? GROUP BY member_id`,
      now,
    )
    .toArray();
  for (const h of held) row(h.member_id).held = h.held;
  const only = accountIds ? new Set(accountIds) : null;
  return {
    periodStart: new Date(period).toISOString(),
    resetsAt: new Date(nextMonthStart(now)).toISOString(),
    members: [...members.values()]
      .filter((m) => only === null || only.has(m.accountId))
      .sort((a, b) => (a.accountId < b.accountId ? -1 : 1)),
  };
}
