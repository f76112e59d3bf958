import { and, desc, eq, lt } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { db } from "../../db/client";
import { generationMeta, generations, ledgerEntries } from "../../db/schema";
import { entryOf } from "../../lib/entries";
import { keysetPage } from "../../lib/pagination";
import { usageReport } from "../../lib/usage";
import { validate } from "../../lib/validation";
import { managers, signedIn, type TeamEnv, teamMember } from "./access";

const page = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.coerce.number().int().min(1).optional(),
});
const usageQuery = z.object({ days: z.coerce.number().int().min(1).max(365).default(30) });

/** The team wallet's ledger and usage: owners and admins only (docs/api.md "Teams"). */
export const ledgerRoutes = new Hono<TeamEnv>()
  .get("/:id/transactions", ...signedIn, teamMember, managers, validate("query", page), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const teamId = c.var.membership.teamId;
    const rows = await db(c.env.DB)
      .select({ entry: ledgerEntries, generationAccount: generations.accountId })
      .from(ledgerEntries)
      .leftJoin(generations, eq(generations.id, ledgerEntries.generationId))
      .where(and(eq(ledgerEntries.walletId, teamId), cursor ? lt(ledgerEntries.seq, cursor) : undefined))
      .orderBy(desc(ledgerEntries.seq))
      .limit(limit + 1);
    const view = ({ entry, generationAccount }: (typeof rows)[number]) => {
      const r = entryOf(entry);
      // The wallet names the member on its settle entries; the generation's owner covers older ones.
      const accountId = r.memberId ?? generationAccount;
      return {
        id: r.id,
        type: r.type,
        amount: r.amount,
        balanceAfter: r.balanceAfter,
        description: r.description,
        ...(r.feature ? { feature: r.feature } : {}),
        ...(r.generationId ? { generationId: r.generationId } : {}),
        ...(accountId ? { accountId } : {}),
        createdAt: r.createdAt.toISOString(),
      };
    };
    return c.json(keysetPage(rows, limit, view, (r) => String(r.entry.seq)));
  })

  .get("/:id/usage", ...signedIn, teamMember, managers, validate("query", usageQuery), async (c) => {
    // The team's generations: its rows and its folded entries (decision 025), by the wallet's keys.
    const where = eq(generationMeta.walletId, c.var.membership.teamId);
    return c.json(await usageReport(db(c.env.DB), where, c.req.valid("query").days, { byMember: true }));
  });
