import { and, desc, eq, inArray, lt, not } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { db } from "../db/client";
import { accounts, generations, ledgerEntries } from "../db/schema";
import type { AppEnv, Session } from "../env";
import { entryOf, FOLDED } from "../lib/entries";
import { notFound } from "../lib/errors";
import { keysetPage } from "../lib/pagination";
import { ownGenerations, ownsSession, requireSession } from "../lib/session";
import { validate } from "../lib/validation";
import { teamsOf } from "../teams/views";
import { wallet } from "../wallet/client";

const page = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.coerce.number().int().min(1).optional(),
});

export const me = new Hono<AppEnv>()
  .get("/", requireSession, async (c) => {
    const { accountId } = c.var.session;
    const d = db(c.env.DB);
    const [account, tokens, teams] = await Promise.all([
      d.query.accounts.findFirst({ where: eq(accounts.id, accountId) }),
      wallet(c.env, accountId).balance(),
      // Anonymous accounts cannot join teams: no query for them.
      c.var.session.kind === "user" ? teamsOf(c.env, d, accountId) : [],
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
      teams: teams.map((t) => ({
        id: t.id,
        name: t.name,
        role: t.role,
        tokens: { available: t.tokens.available },
        limit: t.limit,
      })),
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
    const others = await othersGenerations(c.env.DB, c.var.session, rows);
    const view = (stored: (typeof rows)[number]) => {
      const r = entryOf(stored);
      // Another session's ticket shows as a bare charge: the balance is the
      // account's, what was asked for is not (docs/decisions/009-access.md).
      // A folded entry carries its generation's session itself.
      const hidden =
        r.generationId !== null &&
        (r.generationRollup === FOLDED
          ? !ownsSession(c.var.session, r.sessionId)
          : others.has(r.generationId));
      return {
        id: r.id,
        type: r.type,
        amount: r.amount,
        balanceAfter: r.balanceAfter,
        description: hidden ? "Ticket made in another session" : r.description,
        ...(r.feature && !hidden ? { feature: r.feature } : {}),
        ...(r.generationId && !hidden ? { generationId: r.generationId } : {}),
        createdAt: r.createdAt.toISOString(),
      };
    };
    return c.json(keysetPage(rows, limit, view, (r) => String(r.seq)));
  });

/** The entries' generations made through another session, which an anonymous session may not read. */
async function othersGenerations(
  d1: D1Database,
  session: Session,
  rows: { generationId: string | null; generationRollup: number }[],
): Promise<Set<string>> {
  const ids = [
    ...new Set(
      rows.flatMap((r) => (r.generationId && r.generationRollup !== FOLDED ? [r.generationId] : [])),
    ),
  ];
  const own = ownGenerations(session);
  if (session.kind === "user" || ids.length === 0 || !own) return new Set();
  const hidden = await db(d1)
    .select({ id: generations.id })
    .from(generations)
    .where(and(inArray(generations.id, ids), not(own)));
  return new Set(hidden.map((r) => r.id));
}
