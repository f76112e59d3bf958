/*
 * A folded generation's usage entry (generation_rollup = 2, migration
 * "d1_bytes", docs/decisions/021-d1-bytes.md) leaves out of D1 what derives
 * from its generation id, feature and site. These are the rules, in one place:
 * the wallet object makes its ids so (book.ts), the outbox leaves a column
 * null only when it equals what it derives to (mirror.ts), and every reader
 * of D1's ledger fills it back here (or in SQL with the same rules).
 */

/** What a folded entry stores, the columns it may leave null. */
export const FOLDED = 2;

/** The id part of a `gen_…` id, shared by its hold and its usage entry. */
const rest = (generationId: string) => generationId.slice(generationId.indexOf("_") + 1);

export const holdIdFor = (generationId: string) => `hld_${rest(generationId)}`;
export const entryIdFor = (generationId: string) => `txn_${rest(generationId)}`;
export const settleKeyFor = (holdId: string) => `settle:${holdId}`;

/** A generation's usage entry's description (also what charge.ts and record.ts send). */
export function usageDescription(feature: string, site: string): string {
  return `Ticket ${feature === "generate" ? "generation" : feature} (${site})`;
}

interface StoredEntry {
  id: string | null;
  holdId: string | null;
  reference: string | null;
  idempotencyKey: string | null;
  description: string | null;
  feature: string | null;
  generationId: string | null;
  generationRollup: number;
  site: string | null;
}

/** A D1 ledger row with its derived columns filled: what every answer shows. */
export function entryOf<T extends StoredEntry>(
  e: T,
): T & { id: string; description: string; holdId: string | null; reference: string | null } {
  if (e.generationRollup !== FOLDED || e.generationId === null) {
    return { ...e, id: e.id ?? "", description: e.description ?? "" };
  }
  const holdId = e.holdId ?? holdIdFor(e.generationId);
  return {
    ...e,
    id: e.id ?? entryIdFor(e.generationId),
    holdId,
    reference: e.reference ?? e.generationId,
    idempotencyKey: e.idempotencyKey ?? settleKeyFor(holdId),
    description: e.description ?? usageDescription(e.feature ?? "", e.site ?? ""),
  };
}

/** The same rule for an entry's id in SQL (reconcile reads ids in bulk). */
export const ENTRY_ID_SQL = "coalesce(id, 'txn_' || substr(generation_id, instr(generation_id, '_') + 1))";
