import { and, desc, eq, lt } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { db } from "../db/client";
import { accounts, ledgerEntries } from "../db/schema";
import type { AppEnv } from "../env";
import { notFound } from "../lib/errors";
import { keysetPage } from "../lib/pagination";
import { requireSession } from "../lib/session";
import { validate } from "../lib/validation";
import { wallet } from "../wallet/client";

const page = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.coerce.number().int().min(1).optional(),
});

export const me = new Hono<AppEnv>()
  .get("/", requireSession, async (c) => {
    const { accountId } = c.var.session;
    const [account, tokens] = await Promise.all([
      db(c.env.DB).query.accounts.findFirst({ where: eq(accounts.id, accountId) }),
      wallet(c.env, accountId).balance(),
    ]);
    if (!account) throw notFound("The account");
    c.header("X-Tokens-Remaining", String(tokens.available));
    return c.json({
      account: {
        id: account.id,
        kind: account.kind,
        ...(account.email ? { email: account.email } : {}),
        ...(account.name ? { name: account.name } : {}),
        ...(account.plan ? { plan: account.plan } : {}),
        status: account.status,
      },
      tokens,
    });
  })
  .get("/transactions", requireSession, validate("query", page), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const walletId = c.var.session.accountId;
    const rows = await db(c.env.DB)
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.walletId, walletId), cursor ? lt(ledgerEntries.seq, cursor) : undefined))
      .orderBy(desc(ledgerEntries.seq))
      .limit(limit + 1);
    const view = (r: (typeof rows)[number]) => ({
      id: r.id,
      type: r.type,
      amount: r.amount,
      balanceAfter: r.balanceAfter,
      description: r.description,
      ...(r.feature ? { feature: r.feature } : {}),
      ...(r.generationId ? { generationId: r.generationId } : {}),
      createdAt: r.createdAt.toISOString(),
    });
    return c.json(keysetPage(rows, limit, view, (r) => String(r.seq)));
  });
