/**
 * The wallet's pure arithmetic: burn order, allocation, settlement and expiry.
 * No I/O here, so unit tests drive it without workerd (docs/decisions/001).
 */

export const GRANT_SOURCES = [
  "free",
  "welcome",
  "transfer",
  "purchase",
  "allowance",
  "promo",
  "adjustment",
] as const;
export type GrantSource = (typeof GRANT_SOURCES)[number];

/** Paid tokens burn after free ones among grants that expire at the same time. */
const PAID_SOURCES: ReadonlySet<string> = new Set(["purchase", "allowance"]);

export function priorityOf(source: string): number {
  return PAID_SOURCES.has(source) ? 1 : 0;
}

export interface GrantLike {
  id: string;
  remaining: number;
  expiresAt: number | null;
  priority: number;
  createdAt: number;
}

export interface Allocation {
  grantId: string;
  amount: number;
}

/**
 * Soonest-expiring first (a grant that would be lost is used first), then
 * free before paid, then oldest; the id breaks ties so the order is total.
 */
export function burnOrder(a: GrantLike, b: GrantLike): number {
  const ea = a.expiresAt ?? Number.POSITIVE_INFINITY;
  const eb = b.expiresAt ?? Number.POSITIVE_INFINITY;
  if (ea !== eb) return ea < eb ? -1 : 1;
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function isLive(grant: GrantLike, now: number): boolean {
  return grant.remaining > 0 && (grant.expiresAt === null || grant.expiresAt > now);
}

export function availableOf(grants: readonly GrantLike[], now: number): number {
  return grants.reduce((sum, g) => (isLive(g, now) ? sum + g.remaining : sum), 0);
}

/**
 * Takes `amount` from live grants in burn order. Returns null when the live
 * grants hold less than `amount` (nothing is taken then).
 */
export function allocate(grants: readonly GrantLike[], amount: number, now: number): Allocation[] | null {
  if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError("amount");
  const out: Allocation[] = [];
  let left = amount;
  for (const g of [...grants].filter((g) => isLive(g, now)).sort(burnOrder)) {
    if (left === 0) break;
    const take = Math.min(left, g.remaining);
    out.push({ grantId: g.id, amount: take });
    left -= take;
  }
  return left === 0 ? out : null;
}

/**
 * Splits a hold's allocations into what `actual` burns (taken in the order
 * they were allocated, which is burn order) and what goes back to the grants.
 */
export function splitSettlement(
  allocations: readonly Allocation[],
  actual: number,
): { burn: Allocation[]; release: Allocation[] } {
  const held = allocations.reduce((s, a) => s + a.amount, 0);
  if (!Number.isSafeInteger(actual) || actual < 0 || actual > held) {
    throw new RangeError("actual must be between 0 and the held amount");
  }
  const burn: Allocation[] = [];
  const release: Allocation[] = [];
  let left = actual;
  for (const a of allocations) {
    const b = Math.min(left, a.amount);
    if (b > 0) burn.push({ grantId: a.grantId, amount: b });
    if (a.amount - b > 0) release.push({ grantId: a.grantId, amount: a.amount - b });
    left -= b;
  }
  return { burn, release };
}

/** Grants whose expiry has passed with tokens left: each becomes an `expiry` entry. */
export function expiredGrants<G extends GrantLike>(grants: readonly G[], now: number): G[] {
  return grants.filter((g) => g.remaining > 0 && g.expiresAt !== null && g.expiresAt <= now);
}

/** Pro-rata share of `total` for `part/whole`, rounded down (clawbacks never overshoot). */
export function proRata(total: number, part: number, whole: number): number {
  if (whole <= 0) return 0;
  return Math.floor((total * Math.min(part, whole)) / whole);
}
