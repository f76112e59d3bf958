// The wallet's upkeep: the sweep its alarm runs (holds past their deadline,
// expiries, old records, credits, the outbox) and the audit reconcile reads.
// wallet.ts keeps the alarm and calls these.
import type { Access } from "./access";
import type { Changes } from "./changes";
import { interruptRecords } from "./records";
import { UNSYNCED } from "./storage";
import type { WalletAudit } from "./types";

/**
 * Records of reserve/settle/void and closed holds are dropped after this long:
 * a generation retried later than that is a new generation (its D1 row keeps
 * the request's own idempotency). Grant, debit, adjust and transfer records
 * are kept forever: they guard money coming in and going out.
 */
const SHORT_LIVED_OPS_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Releases holds past their deadline, expires grants, forgets old
 * short-lived records, delivers pending credits and flushes the outbox.
 * The alarm calls it; so may anyone (it is idempotent).
 */
export async function sweep(
  c: Changes,
  access: Access,
): Promise<{ voided: number; expired: number; unsynced: number; pendingCredits: number }> {
  c.faults.gate();
  const now = c.faults.now();
  const before = c.book.expiries;
  const voided = c.ctx.storage.transactionSync(() => {
    access.forgetExpired(now);
    const ended = c.book.endOverdue(now, SHORT_LIVED_OPS_MS);
    // A generation whose Worker died before `finish` ends with its hold: failed, charged nothing.
    interruptRecords(c.book.sql, ended, now);
    return ended.length;
  });
  await c.afterChange();
  return {
    voided,
    expired: c.book.expiries - before,
    unsynced: c.book.count(`SELECT count(*) AS n FROM ${UNSYNCED}`),
    pendingCredits: c.book.count("SELECT count(*) AS n FROM credits"),
  };
}

/**
 * A consistent snapshot for reconcile (worker/wallet/reconcile.ts): flushes
 * the outbox, then reads, with no await in between, the last entry's seq,
 * the balance at that point, the entries D1 may not have yet, and which of
 * `check` (D1 rows past the synced prefix) this wallet never wrote.
 */
export async function audit(
  c: Changes,
  args: { check?: { seq: number; id: string }[] } = {},
): Promise<WalletAudit> {
  c.faults.gate();
  await c.outbox.flush();
  return c.outbox.audit(args.check ?? []);
}
