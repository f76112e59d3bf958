import { and, count, desc, eq, gt, isNull, max, sql, sum } from "drizzle-orm";
import type { Db } from "../db/client";
import {
  accounts,
  generationMeta,
  grants,
  identities,
  ledgerEntries,
  promoRedemptions,
  purchases,
  sessions,
  subscriptions,
} from "../db/schema";
import { notFound } from "../lib/errors";
import { auditInsert } from "./audit";

/** Purchases shown in an account's detail; the ledger has the full history. */
const RECENT = 20;

export type AccountRow = typeof accounts.$inferSelect;

/** Who changes an account, for its audit row. */
export interface AdminCaller {
  adminActor: string;
  requestId: string;
}

/** Blocks or unblocks an account; the change and its audit row land in one batch. */
export async function setAccountStatus(d: Db, caller: AdminCaller, id: string, status: AccountRow["status"]) {
  const account = await findAccount(d, id);
  const [updated] = await d.batch([
    d.update(accounts).set({ status }).where(eq(accounts.id, account.id)).returning(),
    auditInsert(d, {
      actor: caller.adminActor,
      action: status === "blocked" ? "account.block" : "account.unblock",
      target: account.id,
      before: { status: account.status },
      after: { status },
      requestId: caller.requestId,
    }),
  ]);
  return adminAccountView(updated[0] ?? { ...account, status });
}

export async function findAccount(d: Db, id: string): Promise<AccountRow> {
  const [row] = await d.select().from(accounts).where(eq(accounts.id, id)).limit(1);
  if (!row) throw notFound("That account");
  return row;
}

/** An account as admin routes show it: every field, the billing ones included. */
export function adminAccountView(a: AccountRow) {
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

export async function activeSessionCount(d: Db, accountId: string, now: Date): Promise<number> {
  const [row] = await d
    .select({ n: count() })
    .from(sessions)
    .where(and(eq(sessions.accountId, accountId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)));
  return row?.n ?? 0;
}

/** What an admin needs to answer "what happened to this account?" at a glance. */
export async function accountStats(d: Db, accountId: string) {
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
      .select({ status: generationMeta.status, n: count(), charged: sum(generationMeta.charged) })
      .from(generationMeta)
      .where(eq(generationMeta.accountId, accountId))
      .groupBy(generationMeta.status),
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
