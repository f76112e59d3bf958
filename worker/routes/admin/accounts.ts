import { and, desc, eq, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import {
  accountStats,
  activeSessionCount,
  adminAccountView,
  findAccount,
  setAccountStatus,
} from "../../admin/accounts";
import { auditInsert } from "../../admin/audit";
import { db } from "../../db/client";
import { accounts, sessions } from "../../db/schema";
import { keysetPage } from "../../lib/pagination";
import { validate } from "../../lib/validation";
import { wallet } from "../../wallet/client";
import { adjustInput, adjustWallet } from "./adjust";
import type { AdminEnv } from "./auth";
import { ledgerPage, ledgerQuery } from "./ledger";

const page = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().trim().min(1).max(64).optional(),
};

const searchQuery = z.object({ query: z.string().trim().max(320).optional(), ...page });
const idParam = z.object({ id: z.string().min(1).max(64) });

export const adminAccounts = new Hono<AdminEnv>()
  .get("/", validate("query", searchQuery), async (c) => {
    const q = c.req.valid("query");
    const where: SQL[] = [];
    if (q.query) {
      const pattern = `%${q.query.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      where.push(
        or(
          eq(accounts.id, q.query),
          eq(accounts.visitorId, q.query),
          sql`lower(${accounts.email}) LIKE ${pattern} ESCAPE '\\'`,
        ) as SQL,
      );
    }
    if (q.cursor) where.push(lt(accounts.id, q.cursor));
    const rows = await db(c.env.DB)
      .select()
      .from(accounts)
      .where(and(...where))
      .orderBy(desc(accounts.id))
      .limit(q.limit + 1);
    return c.json(keysetPage(rows, q.limit, adminAccountView, (a) => a.id));
  })

  .get("/:id", validate("param", idParam), async (c) => {
    const d = db(c.env.DB);
    const account = await findAccount(d, c.req.valid("param").id);
    const [tokens, stats] = await Promise.all([
      wallet(c.env, account.id).balance(),
      accountStats(d, account.id),
    ]);
    return c.json({
      account: adminAccountView(account),
      tokens,
      stats: { ...stats, ledger: { ...stats.ledger, matchesWallet: stats.ledger.sum === tokens.balance } },
    });
  })

  .get("/:id/transactions", validate("param", idParam), validate("query", ledgerQuery), async (c) => {
    const d = db(c.env.DB);
    const account = await findAccount(d, c.req.valid("param").id);
    return c.json(await ledgerPage(d, account.id, c.req.valid("query")));
  })

  .post("/:id/adjust", validate("param", idParam), ...adjustInput, async (c) => {
    const account = await findAccount(db(c.env.DB), c.req.valid("param").id);
    return adjustWallet(c, account.id, "account.adjust");
  })

  .post("/:id/revoke-sessions", validate("param", idParam), async (c) => {
    const d = db(c.env.DB);
    const account = await findAccount(d, c.req.valid("param").id);
    const now = new Date();
    const active = await activeSessionCount(d, account.id, now);
    // Takes rights away: the account's wallet (what the generate route asks) first, then D1.
    await wallet(c.env, account.id).sessionRevoked({ all: true, at: now.getTime() });
    const [revoked] = await d.batch([
      d
        .update(sessions)
        .set({ revokedAt: now })
        .where(and(eq(sessions.accountId, account.id), isNull(sessions.revokedAt)))
        .returning({ id: sessions.id }),
      auditInsert(d, {
        actor: c.var.adminActor,
        action: "account.revoke_sessions",
        target: account.id,
        before: { activeSessions: active },
        after: { activeSessions: 0 },
        requestId: c.var.requestId,
      }),
    ]);
    return c.json({ revoked: revoked.length });
  })

  .post("/:id/block", validate("param", idParam), async (c) => {
    const d = db(c.env.DB);
    const { id } = await findAccount(d, c.req.valid("param").id);
    // Takes rights away: the account's wallet first, then D1.
    await wallet(c.env, id).setOwnerState({ status: "blocked" });
    const account = await setAccountStatus(d, c.var, id, "blocked");
    return c.json({ account });
  })

  .post("/:id/unblock", validate("param", idParam), async (c) => {
    const account = await setAccountStatus(db(c.env.DB), c.var, c.req.valid("param").id, "active");
    // Gives a right back: D1 first, then the account's wallet.
    await wallet(c.env, account.id).setOwnerState({ status: "active" });
    return c.json({ account });
  });
