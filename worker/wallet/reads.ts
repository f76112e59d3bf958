// The bodies of the wallet's reads: its balance (which first writes the
// expiries due, as any change would), its own copy of the ledger, the debts
// debits left, members' spend this month. wallet.ts binds the object and
// calls these.
import type { Changes } from "./changes";
import { type DebtRow, debtView } from "./debts";
import * as members from "./members";
import * as schemas from "./schemas";
import { check } from "./schemas";
import { type EntryRow, toEntry } from "./storage";
import type { DebtView, LedgerEntry, MemberSpend, MemberSpendArgs, Tokens } from "./types";

/** The balance as callers see it, after writing the expiries due (D1 gets them before the answer). */
export async function balance(c: Changes): Promise<Tokens> {
  const before = c.book.appended;
  c.ctx.storage.transactionSync(() => c.book.expireDue(c.faults.now()));
  if (c.book.appended !== before) await c.afterChange();
  return c.book.tokens();
}

/** The wallet's own copy of its ledger, newest first. */
export function history(c: Changes, args: { limit?: number; before?: number }): LedgerEntry[] {
  return c.book.sql
    .exec<EntryRow>(
      "SELECT * FROM entries WHERE seq < ? ORDER BY seq DESC LIMIT ?",
      args.before ?? Number.MAX_SAFE_INTEGER,
      Math.min(Math.max(args.limit ?? 50, 1), 500),
    )
    .toArray()
    .map(toEntry);
}

/** The debts left by debits under these keys (keys without one are left out). */
export function debts(c: Changes, args: { walletId: string; keys: string[] }): DebtView[] {
  const bad = check(schemas.debtsArgs, args);
  if (bad) throw new Error(bad.message);
  if (args.keys.length === 0) return [];
  return c.book.sql
    .exec<DebtRow>(`SELECT * FROM debts WHERE key IN (${args.keys.map(() => "?").join(", ")})`, ...args.keys)
    .toArray()
    .map(debtView);
}

/** Each member's spend and open holds this UTC month (team wallets; decision 010). */
export function memberSpend(c: Changes, args: MemberSpendArgs): MemberSpend {
  const bad = check(schemas.memberSpendArgs, args);
  if (bad) throw new Error(bad.message);
  return members.memberSpend(c.book.sql, c.faults.now(), args.accountIds);
}
