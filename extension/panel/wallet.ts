import type { TeamSummary } from "@/lib/api";
import type { AccountState } from "@/lib/messaging";

/** A team the user belongs to, as GET /api/me lists it (docs/api.md, Teams). */
export type TeamWallet = TeamSummary;

/** The teams on an account state, wherever the account object carries them. */
export function teamsOf(state: AccountState | null): TeamWallet[] {
  if (!state) return [];
  return Array.isArray(state.teams) ? state.teams.filter((t) => t && typeof t.id === "string") : [];
}

/** What is left of the member's monthly limit, or null without a limit. */
export function remainingLimit(team: TeamWallet): number | null {
  if (team.limit?.monthly == null) return null;
  return Math.max(0, team.limit.monthly - (team.limit.spent ?? 0));
}

/** What this user can spend from the team now: the team's tokens, capped by what is left of their limit. */
export function spendable(team: TeamWallet): number {
  const left = remainingLimit(team);
  const pool = Math.max(0, team.tokens?.available ?? 0);
  return left === null ? pool : Math.min(pool, left);
}

/** A reset date a user reads: "1 January". */
export function resetDay(iso: string | undefined): string {
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) return "the first of next month";
  return date.toLocaleDateString("en-GB", { day: "numeric", month: "long", timeZone: "UTC" });
}
