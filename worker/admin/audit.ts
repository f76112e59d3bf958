import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { auditLog } from "../db/schema";
import { newId } from "../lib/ids";
import { log } from "../lib/log";
import { keysetPage } from "../lib/pagination";

export interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  /** An idempotency key: the same key is recorded once (retried adjustments). */
  key?: string;
  requestId?: string;
}

/**
 * The insert for one audit row, as a query that can go in the same
 * `db.batch` as the write it describes (so neither lands without the other).
 */
export function auditInsert(d: Db, e: AuditEntry) {
  return d
    .insert(auditLog)
    .values({
      id: newId("aud"),
      actor: e.actor,
      action: e.action,
      target: e.target,
      before: e.before ?? null,
      after: e.after ?? null,
      key: e.key ?? null,
      requestId: e.requestId ?? null,
      createdAt: new Date(),
    })
    .onConflictDoNothing({ target: auditLog.key });
}

/**
 * Records the audit row of a write that has already happened outside D1's
 * batch (a wallet change, a promo code). If D1 refuses the row, the change
 * still stands: the entry goes to the error log in full rather than turning a
 * done change into a 500 that invites a second one.
 */
export async function recordAudit(d: Db, e: AuditEntry): Promise<void> {
  try {
    await auditInsert(d, e);
  } catch (error) {
    log("error", "admin.audit_failed", { ...e, error: String(error) });
  }
}

export async function listAudit(
  d: Db,
  q: { limit: number; cursor?: string; target?: string; action?: string },
) {
  const where: SQL[] = [];
  if (q.cursor) where.push(lt(auditLog.id, q.cursor));
  if (q.target) where.push(eq(auditLog.target, q.target));
  if (q.action) where.push(eq(auditLog.action, q.action));
  const rows = await d
    .select()
    .from(auditLog)
    .where(and(...where))
    .orderBy(desc(auditLog.id))
    .limit(q.limit + 1);
  return keysetPage(
    rows,
    q.limit,
    (r) => ({
      id: r.id,
      actor: r.actor,
      action: r.action,
      target: r.target,
      before: r.before,
      after: r.after,
      requestId: r.requestId,
      createdAt: r.createdAt.toISOString(),
    }),
    (r) => r.id,
  );
}
