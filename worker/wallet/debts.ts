import type { LedgerType } from "../db/schema/ledger";
import type { Allocation } from "./ledger";
import type { DebtView } from "./types";

/**
 * Debts (docs/decisions/001, 008): what a debit with `owe` could not take
 * because generations held it. A debt is keyed by its debit's idempotency key
 * (so a retried debit leaves one), restricted to the debit's grants, and at
 * most what those grants held then: a hold can only give back what it holds.
 * When a hold ends, the tokens it releases of those grants pay open debts
 * first, oldest first, in the same transaction (Book.endHold), each payment a
 * ledger entry of the debt's type; so they are never spendable in between.
 */
export interface DebtRow extends Record<string, SqlStorageValue> {
  key: string;
  type: string;
  description: string;
  reference: string | null;
  /** JSON list of the grant ids the debt may be paid from. */
  grant_ids: string;
  amount: number;
  paid: number;
  /** 1 while it can still be paid: unpaid, and its grants hold something. */
  open: number;
  created_at: number;
}

/** Tokens the given grants hold for open holds. */
export function heldIn(sql: SqlStorage, grantIds: string[]): number {
  if (grantIds.length === 0) return 0;
  return sql
    .exec<{ n: number }>(
      `SELECT coalesce(sum(held), 0) AS n FROM grants WHERE id IN (${grantIds.map(() => "?").join(", ")})`,
      ...grantIds,
    )
    .one().n;
}

/** Records a debt once per key; an existing one is kept as it is. */
export function recordDebt(
  sql: SqlStorage,
  d: {
    key: string;
    type: LedgerType;
    description: string;
    reference?: string;
    grantIds: string[];
    amount: number;
  },
  now: number,
): void {
  if (d.amount <= 0) return;
  sql.exec(
    `INSERT INTO debts (key, type, description, reference, grant_ids, amount, paid, open, created_at)
     VALUES (?, ?, ?, ?, ?, ?, 0, 1, ?) ON CONFLICT (key) DO NOTHING`,
    d.key,
    d.type,
    d.description,
    d.reference ?? null,
    JSON.stringify(d.grantIds),
    d.amount,
    now,
  );
}

/**
 * Pays open debts from what a hold just released (`release`, per grant,
 * never more than each grant now has spendable). `take` writes one payment
 * (grant updates and its entry). Returns what is left of the release.
 */
export function payDebts(
  sql: SqlStorage,
  holdId: string,
  release: Allocation[],
  take: (debt: DebtRow, key: string, parts: Allocation[]) => void,
): Allocation[] {
  const left = new Map<string, number>();
  for (const r of release) left.set(r.grantId, (left.get(r.grantId) ?? 0) + r.amount);
  const debts = sql.exec<DebtRow>("SELECT * FROM debts WHERE open = 1 ORDER BY created_at, key").toArray();
  for (const debt of debts) {
    const ids = JSON.parse(debt.grant_ids) as string[];
    let owing = debt.amount - debt.paid;
    const parts: Allocation[] = [];
    for (const id of ids) {
      if (owing === 0) break;
      // Released tokens of a grant that expired meanwhile are gone already.
      const spendable = sql
        .exec<{ remaining: number }>("SELECT remaining FROM grants WHERE id = ?", id)
        .toArray()[0];
      const x = Math.min(owing, left.get(id) ?? 0, spendable?.remaining ?? 0);
      if (x <= 0) continue;
      parts.push({ grantId: id, amount: x });
      left.set(id, (left.get(id) ?? 0) - x);
      owing -= x;
    }
    const paid = parts.reduce((n, p) => n + p.amount, 0);
    if (paid > 0) take(debt, `${debt.key}:paid:${holdId}`, parts);
    // Unpaid with nothing held on its grants any more: the rest was spent, and is dropped.
    const open = owing > 0 && heldIn(sql, ids) > 0 ? 1 : 0;
    sql.exec("UPDATE debts SET paid = paid + ?, open = ? WHERE key = ?", paid, open, debt.key);
  }
  return [...left].filter(([, amount]) => amount > 0).map(([grantId, amount]) => ({ grantId, amount }));
}

export function debtView(d: DebtRow): DebtView {
  return { key: d.key, amount: d.amount, paid: d.paid, open: d.open === 1 };
}
