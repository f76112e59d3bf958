import type { Env } from "../env";
import { log } from "../lib/log";

export interface Mismatch {
  accountId: string;
  /** What D1's ledger sums to for this wallet (entries still in the outbox not counted). */
  ledger: number;
  /** The wallet object's balance: available + held. */
  wallet: number;
  /** Entries the wallet holds that D1 does not have yet. */
  pending?: number;
}

export interface ReconcileResult {
  ok: boolean;
  accounts: number;
  mismatches: Mismatch[];
  /** Entries on their way to D1 across all wallets (not a mismatch: the alarm delivers them). */
  pending: number;
  /** Wallets that could not be checked (their object threw); `ok` is false when any. */
  errors: { accountId: string; message: string }[];
}

/** Rows past the synced prefix fetched per wallet; a healthy wallet has few or none. */
const TAIL_LIMIT = 1000;
/** Wallet objects audited at once. */
const PARALLEL = 8;

/**
 * Checks `sum(ledger_entries.amount) == available + held` for every wallet
 * (API.md `GET /admin/reconcile`; docs/decisions/001-wallet.md).
 *
 * Wallets keep changing while this runs and entries reach D1 through an
 * outbox, so a naive "sum D1, then ask the wallet" would report every wallet
 * that is busy or waiting on D1. Instead each wallet is compared at one point
 * in its history: `audit()` flushes the outbox and returns, at one instant, its
 * last entry's seq N, its balance then, and the entries D1 may still lack.
 * Seqs are dense (1, 2, 3…) and unique in D1, so:
 *  - D1 rows up to the first unsynced entry are summed directly;
 *  - rows after it are checked one by one against the wallet: rows it wrote
 *    count if their seq ≤ N (later ones are changes made since the snapshot),
 *    rows it never wrote are foreign and always a mismatch;
 *  - entries the wallet has not delivered yet count as pending, not missing.
 * A row planted in or deleted from D1 therefore shows up; an in-flight outbox
 * does not.
 */
export async function reconcile(env: Env): Promise<ReconcileResult> {
  const { results } = await env.DB.prepare(
    `SELECT id AS walletId, account_id AS accountId FROM wallets
     UNION
     SELECT DISTINCT wallet_id, wallet_id FROM ledger_entries
     WHERE wallet_id NOT IN (SELECT id FROM wallets)`,
  ).all<{ walletId: string; accountId: string }>();

  const out: ReconcileResult = { ok: true, accounts: results.length, mismatches: [], pending: 0, errors: [] };
  for (let i = 0; i < results.length; i += PARALLEL) {
    await Promise.all(
      results.slice(i, i + PARALLEL).map(async ({ walletId, accountId }) => {
        try {
          const r = await checkWallet(env, walletId);
          out.pending += r.pending;
          if (!r.ok) {
            out.mismatches.push({
              accountId,
              ledger: r.ledger,
              wallet: r.wallet,
              ...(r.pending ? { pending: r.pending } : {}),
            });
          }
        } catch (error) {
          out.errors.push({ accountId, message: String(error) });
        }
      }),
    );
  }
  out.ok = out.mismatches.length === 0 && out.errors.length === 0;
  if (!out.ok) log("error", "wallet.reconcile_failed", { mismatches: out.mismatches, errors: out.errors });
  return out;
}

async function checkWallet(env: Env, walletId: string) {
  const stub = env.WALLET.get(env.WALLET.idFromName(walletId));
  const snap = await stub.audit();
  const syncedThrough = snap.unsynced[0] ? snap.unsynced[0].seq - 1 : snap.seq;

  const head = await env.DB.prepare(
    "SELECT coalesce(sum(amount), 0) AS sum, count(*) AS n FROM ledger_entries WHERE wallet_id = ? AND seq <= ?",
  )
    .bind(walletId, syncedThrough)
    .first<{ sum: number; n: number }>();
  const { results: tail } = await env.DB.prepare(
    "SELECT seq, id, amount FROM ledger_entries WHERE wallet_id = ? AND seq > ? ORDER BY seq LIMIT ?",
  )
    .bind(walletId, syncedThrough, TAIL_LIMIT)
    .all<{ seq: number; id: string; amount: number }>();

  const foreign = new Set(
    tail.length ? (await stub.audit({ check: tail.map(({ seq, id }) => ({ seq, id })) })).unknown : [],
  );
  let ledger = head?.sum ?? 0;
  let pendingSum = 0;
  const inD1 = new Set<number>();
  for (const row of tail) {
    if (foreign.has(row.seq)) ledger += row.amount;
    else if (row.seq <= snap.seq) {
      ledger += row.amount;
      inD1.add(row.seq);
    }
  }
  let pending = 0;
  for (const entry of snap.unsynced) {
    if (!inD1.has(entry.seq)) {
      pending++;
      pendingSum += entry.amount;
    }
  }
  const ok =
    foreign.size === 0 &&
    (head?.n ?? 0) === syncedThrough && // a synced entry deleted from D1
    snap.entriesSum === snap.balance && // the wallet agrees with its own entries
    ledger + pendingSum === snap.balance;
  return { ok, ledger, wallet: snap.balance, pending };
}
