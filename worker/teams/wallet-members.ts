import type { Db } from "../db/client";
import type { Env } from "../env";
import { wallet } from "../wallet/client";
import type { MemberChange } from "./members";
import { type Membership, membership } from "./membership";

/**
 * Keeps a team wallet's own list of members (worker/wallet/access.ts) in step
 * with D1's team_members, which the generate route no longer reads
 * (docs/decisions/017-access-in-the-object.md). What takes a right away (a
 * removal, a lower limit) reaches the wallet before D1; what gives one (a
 * join, a higher limit) after. Each push sets a member's whole state, so a
 * repeat changes nothing.
 */

/** A member as D1 has them now, or their removal. */
export async function pushMember(
  env: Env,
  teamId: string,
  m: Pick<Membership, "accountId" | "role" | "monthlyLimit">,
) {
  await wallet(env, teamId).setMember({ accountId: m.accountId, role: m.role, monthlyLimit: m.monthlyLimit });
}

export async function pushRemoved(env: Env, teamId: string, accountId: string) {
  await wallet(env, teamId).setMember({ accountId, removed: true });
}

/**
 * Before a role or limit change: the wallet gets the tighter of the old and
 * new limit (null is no limit), so the member can never spend past either
 * while D1 changes. After it, `syncMember` sets what D1 holds.
 */
export async function tightenFirst(env: Env, target: Membership, change: MemberChange): Promise<void> {
  if (change.monthlyLimit === undefined) return;
  const limits = [target.monthlyLimit, change.monthlyLimit].filter((l): l is number => l !== null);
  const tighter = limits.length > 0 ? Math.min(...limits) : null;
  if (tighter === target.monthlyLimit) return;
  await pushMember(env, target.teamId, { ...target, monthlyLimit: tighter });
}

/** After a change that may or may not have reached D1 (a refusal, a failure): the wallet gets D1's truth. */
export async function syncMember(env: Env, d: Db, teamId: string, accountId: string): Promise<void> {
  const m = await membership(d, teamId, accountId);
  if (m) await pushMember(env, teamId, m);
  else await pushRemoved(env, teamId, accountId);
}
