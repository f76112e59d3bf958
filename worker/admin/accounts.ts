import { and, count, desc, eq, gt, isNull, lt, max, or, type SQL, sql, sum } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { type Db, db } from "../db/client";
import {
  accounts,
  generations,
  grants,
  identities,
  ledgerEntries,
  promoRedemptions,
  purchases,
  sessions,
  subscriptions,
} from "../db/schema";
import { ApiError, notFound } from "../lib/errors";
import { keysetPage } from "../lib/pagination";
import { idempotencyKey, validate } from "../lib/validation";
import { wallet } from "../wallet/client";
import { auditInsert, recordAudit } from "./audit";
import type { AdminEnv } from "./auth";

const page = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().trim().min(1).max(64).optional(),
};

const searchQuery = z.object({ query: z.string().trim().max(320).optional(), ...page });
const ledgerQuery = z.object({
  limit: page.limit,
  cursor: z.coerce.number().int().min(1).optional(),
});
const idParam = z.object({ id: z.string().min(1).max(64) });

/** Purchases shown in an account's detail; the ledger has the full history. */
const RECENT = 20;

/** Large enough for any real correction, small enough that a typo of extra zeros is refused. */
export const MAX_ADJUSTMENT = 1_000_000;

const adjustBody = z.object({
  amount: z
    .number()
    .int()
    .min(-MAX_ADJUSTMENT)
    .max(MAX_ADJUSTMENT)
    .refine((n) => n !== 0, "The amount must not be zero."),
  reason: z.string().trim().min(1).max(500),
});

type AccountRow = typeof accounts.$inferSelect;

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
    return c.json(keysetPage(rows, q.limit, accountView, (a) => a.id));
  })

  .get("/:id", validate("param", idParam), async (c) => {
    const d = db(c.env.DB);
    const account = await findAccount(d, c.req.valid("param").id);
    const [tokens, stats] = await Promise.all([
      wallet(c.env, account.id).balance(),
      accountStats(d, account.id),
    ]);
    return c.json({
      account: accountView(account),
      tokens,
      stats: { ...stats, ledger: { ...stats.ledger, matchesWallet: stats.ledger.sum === tokens.balance } },
    });
  })

  .get("/:id/transactions", validate("param", idParam), validate("query", ledgerQuery), async (c) => {
    const d = db(c.env.DB);
    const account = await findAccount(d, c.req.valid("param").id);
    const q = c.req.valid("query");
    const rows = await d
      .select()
      .from(ledgerEntries)
      .where(
        and(eq(ledgerEntries.walletId, account.id), q.cursor ? lt(ledgerEntries.seq, q.cursor) : undefined),
      )
      .orderBy(desc(ledgerEntries.seq))
      .limit(q.limit + 1);
    return c.json(
      keysetPage(
        rows,
        q.limit,
        (e) => ({
          id: e.id,
          seq: e.seq,
          type: e.type,
          amount: e.amount,
          balanceAfter: e.balanceAfter,
          description: e.description,
          ...(e.feature ? { feature: e.feature } : {}),
          ...(e.generationId ? { generationId: e.generationId } : {}),
          reference: e.reference,
          grantId: e.grantId,
          holdId: e.holdId,
          createdAt: e.createdAt.toISOString(),
        }),
        (e) => String(e.seq),
      ),
    );
  })

  .post("/:id/adjust", validate("param", idParam), validate("json", adjustBody), async (c) => {
    const d = db(c.env.DB);
    const account = await findAccount(d, c.req.valid("param").id);
    const { amount, reason } = c.req.valid("json");
    const header = c.req.header("Idempotency-Key");
    if (header !== undefined && !idempotencyKey.safeParse(header).success) {
      throw new ApiError(400, "invalid_request", "The request is not valid.", {
        issues: [{ path: "Idempotency-Key", message: "Must be 8-128 printable ASCII characters." }],
      });
    }
    // Without a key every call is its own adjustment; with one, a retry is a replay.
    const key = header ?? `req:${crypto.randomUUID()}`;
    const r = await wallet(c.env, account.id).adjust({ key: `admin:${key}`, amount, reason });
    if (!r.ok) {
      if (r.code === "idempotency_conflict") {
        throw new ApiError(409, "idempotency_conflict", "This Idempotency-Key was used with another body.");
      }
      throw new ApiError(400, "invalid_request", r.message, {
        issues: [{ path: "amount", message: r.message }],
      });
    }
    await recordAudit(d, {
      actor: c.var.adminActor,
      action: "account.adjust",
      target: account.id,
      before: { available: r.tokens.available - r.adjusted, balance: r.tokens.balance - r.adjusted },
      after: {
        available: r.tokens.available,
        balance: r.tokens.balance,
        requested: amount,
        adjusted: r.adjusted,
        reason,
      },
      key: `adjust:${account.id}:${key}`,
      requestId: c.var.requestId,
    });
    return c.json({ adjusted: r.adjusted, tokens: r.tokens, ...(r.replayed ? { replayed: true } : {}) });
  })

  .post("/:id/revoke-sessions", validate("param", idParam), async (c) => {
    const d = db(c.env.DB);
    const account = await findAccount(d, c.req.valid("param").id);
    const now = new Date();
    const active = await activeSessionCount(d, account.id, now);
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
    const account = await setStatus(c, c.req.valid("param").id, "blocked");
    return c.json({ account });
  })

  .post("/:id/unblock", validate("param", idParam), async (c) => {
    const account = await setStatus(c, c.req.valid("param").id, "active");
    return c.json({ account });
  });

async function setStatus(
  c: { env: AdminEnv["Bindings"]; var: { adminActor: string; requestId: string } },
  id: string,
  status: AccountRow["status"],
) {
  const d = db(c.env.DB);
  const account = await findAccount(d, id);
  const [updated] = await d.batch([
    d.update(accounts).set({ status }).where(eq(accounts.id, account.id)).returning(),
    auditInsert(d, {
      actor: c.var.adminActor,
      action: status === "blocked" ? "account.block" : "account.unblock",
      target: account.id,
      before: { status: account.status },
      after: { status },
      requestId: c.var.requestId,
    }),
  ]);
  return accountView(updated[0] ?? { ...account, status });
}

export async function findAccount(d: Db, id: string): Promise<AccountRow> {
  const [row] = await d.select().from(accounts).where(eq(accounts.id, id)).limit(1);
  if (!row) throw notFound("That account");
  return row;
}

function accountView(a: AccountRow) {
  return {
    id: a.id,
    kind: a.kind,
    status: a.status,
    email: a.email,
    name: a.name,
    plan: a.plan,
    visitorId: a.visitorId,
    mergedInto: a.mergedInto,
    stripeCustomerId: a.stripeCustomerId,
    createdAt: a.createdAt.toISOString(),
    welcomeGrantedAt: a.welcomeGrantedAt?.toISOString() ?? null,
    firstPaidAt: a.firstPaidAt?.toISOString() ?? null,
  };
}

async function activeSessionCount(d: Db, accountId: string, now: Date): Promise<number> {
  const [row] = await d
    .select({ n: count() })
    .from(sessions)
    .where(and(eq(sessions.accountId, accountId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)));
  return row?.n ?? 0;
}

/** What an admin needs to answer "what happened to this account?" at a glance. */
async function accountStats(d: Db, accountId: string) {
  const now = new Date();
  const [
    grantRows,
    sessionRows,
    generationRows,
    ledgerRows,
    identityRows,
    purchaseRows,
    subscriptionRows,
    promoRows,
  ] = await d.batch([
    d
      .select({
        id: grants.id,
        source: grants.source,
        amount: grants.amount,
        remaining: grants.remaining,
        expiresAt: grants.expiresAt,
        reference: grants.reference,
        createdAt: grants.createdAt,
      })
      .from(grants)
      .where(eq(grants.walletId, accountId))
      .orderBy(desc(grants.createdAt)),
    d
      .select({
        total: count(),
        active: sql<number>`coalesce(sum(CASE WHEN ${sessions.revokedAt} IS NULL AND ${sessions.expiresAt} > ${now.getTime()} THEN 1 ELSE 0 END), 0)`,
        lastCreatedAt: max(sessions.createdAt),
      })
      .from(sessions)
      .where(eq(sessions.accountId, accountId)),
    d
      .select({ status: generations.status, n: count(), charged: sum(generations.charged) })
      .from(generations)
      .where(eq(generations.accountId, accountId))
      .groupBy(generations.status),
    d
      .select({ entries: count(), sum: sum(ledgerEntries.amount) })
      .from(ledgerEntries)
      .where(eq(ledgerEntries.walletId, accountId)),
    d
      .select({ provider: identities.provider, email: identities.email, createdAt: identities.createdAt })
      .from(identities)
      .where(eq(identities.accountId, accountId)),
    d
      .select({
        id: purchases.id,
        planId: purchases.planId,
        kind: purchases.kind,
        amount: purchases.amount,
        currency: purchases.currency,
        tokens: purchases.tokens,
        refundedAmount: purchases.refundedAmount,
        disputedAmount: purchases.disputedAmount,
        grantId: purchases.grantId,
        createdAt: purchases.createdAt,
      })
      .from(purchases)
      .where(eq(purchases.accountId, accountId))
      .orderBy(desc(purchases.createdAt))
      .limit(RECENT),
    d
      .select({
        id: subscriptions.id,
        planId: subscriptions.planId,
        status: subscriptions.status,
        customerId: subscriptions.customerId,
        createdAt: subscriptions.createdAt,
        canceledAt: subscriptions.canceledAt,
      })
      .from(subscriptions)
      .where(eq(subscriptions.accountId, accountId))
      .orderBy(desc(subscriptions.createdAt)),
    d
      .select({
        code: promoRedemptions.code,
        tokens: promoRedemptions.tokens,
        createdAt: promoRedemptions.createdAt,
      })
      .from(promoRedemptions)
      .where(eq(promoRedemptions.accountId, accountId))
      .orderBy(desc(promoRedemptions.createdAt)),
  ]);
  const byStatus = { pending: 0, succeeded: 0, failed: 0, cancelled: 0 };
  let charged = 0;
  for (const g of generationRows) {
    byStatus[g.status] = g.n;
    charged += Number(g.charged ?? 0);
  }
  const s = sessionRows[0];
  const l = ledgerRows[0];
  return {
    grants: grantRows.map((g) => ({
      ...g,
      expiresAt: g.expiresAt?.toISOString() ?? null,
      createdAt: g.createdAt.toISOString(),
    })),
    sessions: {
      total: s?.total ?? 0,
      active: Number(s?.active ?? 0),
      lastCreatedAt: s?.lastCreatedAt ? new Date(s.lastCreatedAt).toISOString() : null,
    },
    generations: {
      total: byStatus.pending + byStatus.succeeded + byStatus.failed + byStatus.cancelled,
      ...byStatus,
      charged,
    },
    ledger: { entries: l?.entries ?? 0, sum: Number(l?.sum ?? 0) },
    identities: identityRows.map((i) => ({ ...i, createdAt: i.createdAt.toISOString() })),
    /** The latest purchases (packs and monthly allowances). */
    purchases: purchaseRows.map((p) => ({ ...p, createdAt: p.createdAt.toISOString() })),
    subscriptions: subscriptionRows.map((x) => ({
      ...x,
      createdAt: x.createdAt.toISOString(),
      canceledAt: x.canceledAt?.toISOString() ?? null,
    })),
    promoRedemptions: promoRows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })),
  };
}
