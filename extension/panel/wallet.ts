import type { AccountState } from "@/lib/messaging";

/** A team the user belongs to, as GET /api/me lists it (contracts: `teams`). */
export interface TeamWallet {
  id: string;
  name: string;
  role: "owner" | "admin" | "member";
  tokens: { available: number };
  /** `monthly` null: no limit for this member. */
  limit: { monthly: number | null; spent: number; resetsAt: string };
}

/** The teams on an account state, wherever the account object carries them. */
export function teamsOf(state: AccountState | null): TeamWallet[] {
  if (!state) return [];
  const carried =
    (state as { teams?: unknown }).teams ?? (state.account as { teams?: unknown } | undefined)?.teams;
  return Array.isArray(carried) ? (carried as TeamWallet[]).filter((t) => t && typeof t.id === "string") : [];
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
