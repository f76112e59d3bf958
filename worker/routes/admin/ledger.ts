import { and, desc, eq, lt } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { ledgerEntries } from "../../db/schema";
import { entryOf } from "../../lib/entries";
import { keysetPage } from "../../lib/pagination";

/** `?limit=&cursor=` of an admin ledger listing; the cursor is an entry's seq. */
export const ledgerQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.coerce.number().int().min(1).optional(),
});

/**
 * One page of a wallet's D1 ledger, newest first, for admin views of an
 * account's or a team's wallet; a team's usage entries name the member.
 */
export async function ledgerPage(d: Db, walletId: string, q: z.output<typeof ledgerQuery>) {
  const rows = await d
    .select()
    .from(ledgerEntries)
    .where(and(eq(ledgerEntries.walletId, walletId), q.cursor ? lt(ledgerEntries.seq, q.cursor) : undefined))
    .orderBy(desc(ledgerEntries.seq))
    .limit(q.limit + 1);
  return keysetPage(
    rows,
    q.limit,
    (stored) => {
      const e = entryOf(stored);
      return {
        id: e.id,
        seq: e.seq,
        type: e.type,
        amount: e.amount,
        balanceAfter: e.balanceAfter,
        description: e.description,
        ...(e.feature ? { feature: e.feature } : {}),
        ...(e.generationId ? { generationId: e.generationId } : {}),
        ...(e.memberId ? { accountId: e.memberId } : {}),
        reference: e.reference,
        grantId: e.grantId,
        holdId: e.holdId,
        createdAt: e.createdAt.toISOString(),
      };
    },
    (e) => String(e.seq),
  );
}
