import type { Env } from "../env";
import { ENTRY_ID_SQL } from "../lib/entries";
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
  /** Wallets checked by this run. */
  accounts: number;
  /** A full pass (every wallet) rather than the changed ones plus a sample. */
  full: boolean;
  /** Of those, the wallets D1 marked as changed since their last clean check, and the sample. */
  changed: number;
  sampled: number;
  mismatches: Mismatch[];
  /** Entries on their way to D1 across all wallets (not a mismatch: the alarm delivers them). */
  pending: number;
  /** Wallets that could not be checked (their object threw); `ok` is false when any. */
  errors: { accountId: string; message: string }[];
}

export interface ReconcileOptions {
  /** Check every wallet, not only the changed ones (`GET /admin/reconcile?full=1`). */
  full?: boolean;
  /** Clean wallets re-checked per run, in id order from where the last run stopped. */
  sample?: number;
}

/** Rows past the synced prefix fetched per wallet; a healthy wallet has few or none. */
const TAIL_LIMIT = 1000;
/** Wallet objects audited at once. */
const PARALLEL = 8;
/**
 * Clean wallets re-checked per run: at one run every 30 minutes, 1,000 a day,
 * so a wallet whose object changed without D1 hearing of it is still found.
 */
export const SAMPLE = 20;
/**
 * Changed wallets checked per run; the rest stay marked for the next one. A
 * check is one D1 query and D1 allows 1,000 per Worker invocation, so a run
 * stays well inside it (docs/capacity.md).
 */
const CHANGED_LIMIT = 400;
/** Statements per D1 batch when recording results. */
const BATCH = 100;
/** D1's clock in ms, the one the marking triggers use (no skew against the Worker's). */
const D1_NOW = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
const CURSOR_KEY = "reconcile.sample_cursor";

interface Target {
  walletId: string;
  accountId: string;
  sampled: boolean;
  /** Where the last clean check left D1's sum, when nothing was edited or deleted since. */
  verified?: { seq: number; sum: number };
}

/**
 * Checks `sum(ledger_entries.amount) == available + held` for the wallets that
 * changed since their last clean check, plus a slow rotating sample of the
 * others; `full` checks every wallet (docs/api.md `GET /admin/reconcile`;
 * docs/decisions/001-wallet.md and 016-scale.md).
 *
 * What changed is D1's to say: triggers on `ledger_entries` and `wallets`
 * mark a wallet dirty in `wallet_checks` when a wallet is made, an entry lands
 * after a clean check, or an entry is edited or deleted (so a planted,
 * forged or deleted row is always looked at). A clean check clears the mark
 * unless something marked it again after the run began or D1 already holds
 * entries past the checked point. What D1 cannot see (a wallet object whose
 * state drifted without writing an entry) is left to the sample and the full
 * pass.
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
export async function reconcile(env: Env, opts: ReconcileOptions = {}): Promise<ReconcileResult> {
  const full = opts.full ?? false;
  const { started, targets } = full
    ? await everyWallet(env)
    : await changedAndSample(env, opts.sample ?? SAMPLE);

  const out: ReconcileResult = {
    ok: true,
    accounts: targets.length,
    full,
    changed: targets.filter((t) => !t.sampled).length,
    sampled: targets.filter((t) => t.sampled).length,
    mismatches: [],
    pending: 0,
    errors: [],
  };
  const marks: D1PreparedStatement[] = [];
  for (let i = 0; i < targets.length; i += PARALLEL) {
    await Promise.all(
      targets.slice(i, i + PARALLEL).map(async ({ walletId, accountId, sampled, verified }) => {
        try {
          const r = await checkWallet(env, walletId, verified);
          out.pending += r.pending;
          if (!r.ok) {
            out.mismatches.push({
              accountId,
              ledger: r.ledger,
              wallet: r.wallet,
              ...(r.pending ? { pending: r.pending } : {}),
            });
            marks.push(markDirty(env, walletId));
          } else if (r.pending === 0 && !sampled) {
            marks.push(markClean(env, walletId, r.seq, r.wallet, started));
          }
        } catch (error) {
          out.errors.push({ accountId, message: String(error) });
          if (sampled) marks.push(markDirty(env, walletId));
        }
      }),
    );
  }
  for (let i = 0; i < marks.length; i += BATCH) await env.DB.batch(marks.slice(i, i + BATCH));
  out.ok = out.mismatches.length === 0 && out.errors.length === 0;
  if (!out.ok) log("error", "wallet.reconcile_failed", { mismatches: out.mismatches, errors: out.errors });
  return out;
}

const TARGET_COLUMNS = "c.wallet_id AS walletId, coalesce(w.account_id, c.wallet_id) AS accountId";

/** Every wallet D1 knows of: the wallets table, and any wallet id its ledger names. */
async function everyWallet(env: Env) {
  const [now, checks, rest] = await env.DB.batch<{ walletId: string; accountId: string; now: number }>([
    env.DB.prepare(`SELECT ${D1_NOW} AS now`),
    env.DB.prepare(`SELECT ${TARGET_COLUMNS} FROM wallet_checks c LEFT JOIN wallets w ON w.id = c.wallet_id`),
    // Rows the marking triggers did not see (written with triggers off, or before them).
    env.DB.prepare(
      `SELECT id AS walletId, account_id AS accountId FROM wallets WHERE id NOT IN (SELECT wallet_id FROM wallet_checks)
       UNION
       SELECT DISTINCT wallet_id, wallet_id FROM ledger_entries
       WHERE wallet_id NOT IN (SELECT id FROM wallets) AND wallet_id NOT IN (SELECT wallet_id FROM wallet_checks)`,
    ),
  ]);
  const targets: Target[] = [...(checks?.results ?? []), ...(rest?.results ?? [])].map((t) => ({
    walletId: t.walletId,
    accountId: t.accountId,
    sampled: false,
  }));
  return { started: now?.results[0]?.now ?? 0, targets };
}

/** The wallets marked dirty, and the next `sample` clean ones after the stored cursor (wrapping). */
async function changedAndSample(env: Env, sample: number) {
  const cursor =
    (await env.DB.prepare("SELECT value FROM reconcile_state WHERE key = ?")
      .bind(CURSOR_KEY)
      .first<string>("value")) ?? "";
  const clean = (after: boolean) =>
    env.DB.prepare(
      `SELECT ${TARGET_COLUMNS} FROM wallet_checks c LEFT JOIN wallets w ON w.id = c.wallet_id
       WHERE c.dirty = 0 AND c.wallet_id ${after ? ">" : "<="} ?1 ORDER BY c.wallet_id LIMIT ?2`,
    ).bind(cursor, sample);
  const [now, dirty, next, wrapped] = await env.DB.batch<{
    walletId: string;
    accountId: string;
    now: number;
    verifiedSeq: number;
    verifiedSum: number;
    tampered: number;
  }>([
    env.DB.prepare(`SELECT ${D1_NOW} AS now`),
    env.DB.prepare(
      `SELECT ${TARGET_COLUMNS}, c.verified_seq AS verifiedSeq, c.verified_sum AS verifiedSum, c.tampered
       FROM wallet_checks c LEFT JOIN wallets w ON w.id = c.wallet_id
       WHERE c.dirty = 1 LIMIT ?1`,
    ).bind(CHANGED_LIMIT),
    clean(true),
    clean(false),
  ]);
  const picked = [...(next?.results ?? []), ...(wrapped?.results ?? [])].slice(0, sample);
  const last = picked.at(-1);
  if (last) {
    await env.DB.prepare(
      "INSERT INTO reconcile_state (key, value) VALUES (?1, ?2) ON CONFLICT DO UPDATE SET value = excluded.value",
    )
      .bind(CURSOR_KEY, last.walletId)
      .run();
  }
  const targets: Target[] = [
    // A changed wallet adds its new entries to the verified sum; the sample sums everything.
    ...(dirty?.results ?? []).map((t) => ({
      walletId: t.walletId,
      accountId: t.accountId,
      sampled: false,
      ...(t.verifiedSeq > 0 && !t.tampered ? { verified: { seq: t.verifiedSeq, sum: t.verifiedSum } } : {}),
    })),
    ...picked.map((t) => ({ walletId: t.walletId, accountId: t.accountId, sampled: true })),
  ];
  return { started: now?.results[0]?.now ?? 0, targets };
}

/**
 * Clears the wallet's mark after a clean check at `seq`, unless it was marked
 * again after the run began or D1 already has entries past `seq` (those are
 * the next run's to check).
 */
function markClean(env: Env, walletId: string, seq: number, sum: number, started: number) {
  return env.DB.prepare(
    `INSERT INTO wallet_checks (wallet_id, dirty, marked_at, verified_seq, verified_sum, verified_at, tampered)
     VALUES (?1, 0, 0, ?2, ?3, ?4, 0)
     ON CONFLICT DO UPDATE SET dirty = 0, tampered = 0, verified_seq = excluded.verified_seq,
       verified_sum = excluded.verified_sum, verified_at = excluded.verified_at
     WHERE marked_at <= ?5
       AND NOT EXISTS (SELECT 1 FROM ledger_entries WHERE wallet_id = ?1 AND seq > ?2)`,
  ).bind(walletId, seq, sum, Date.now(), started);
}

/** Keeps a wallet that failed its check in the changed set, so every run looks at it again. */
function markDirty(env: Env, walletId: string) {
  return env.DB.prepare(
    `INSERT INTO wallet_checks (wallet_id, dirty, marked_at) VALUES (?1, 1, ${D1_NOW})
     ON CONFLICT DO UPDATE SET dirty = 1, marked_at = excluded.marked_at WHERE dirty = 0`,
  ).bind(walletId);
}

async function checkWallet(env: Env, walletId: string, verified?: { seq: number; sum: number }) {
  const stub = env.WALLET.get(env.WALLET.idFromName(walletId));
  const snap = await stub.audit();
  const syncedThrough = snap.unsynced[0] ? snap.unsynced[0].seq - 1 : snap.seq;

  // Entries up to a verified seq were summed by a clean check and nothing has
  // edited or deleted one since (the triggers would have said), so only the
  // newer ones are read: a long-lived wallet costs what changed, not its history.
  const base = verified && verified.seq <= syncedThrough ? verified : { seq: 0, sum: 0 };
  // One D1 query per wallet (D1 allows 1,000 per invocation): the synced
  // prefix's sum and count past the base (the row with no seq), then the rows after it.
  const { results } = await env.DB.prepare(
    `SELECT NULL AS seq, NULL AS id, coalesce(sum(amount), 0) AS amount, count(*) AS n
       FROM ledger_entries WHERE wallet_id = ?1 AND seq > ?4 AND seq <= ?2
     UNION ALL
     SELECT * FROM (SELECT seq, ${ENTRY_ID_SQL} AS id, amount, NULL AS n FROM ledger_entries
       WHERE wallet_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3)`,
  )
    .bind(walletId, syncedThrough, TAIL_LIMIT, base.seq)
    .all<{ seq: number | null; id: string | null; amount: number; n: number | null }>();
  const head = results.find((r) => r.seq === null);
  const tail = results.flatMap((r) =>
    r.seq === null ? [] : [{ seq: r.seq, id: r.id ?? "", amount: r.amount }],
  );

  const foreign = new Set(
    tail.length ? (await stub.audit({ check: tail.map(({ seq, id }) => ({ seq, id })) })).unknown : [],
  );
  let ledger = base.sum + (head?.amount ?? 0);
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
    base.seq + (head?.n ?? 0) === syncedThrough && // a synced entry deleted from D1
    snap.entriesSum === snap.balance && // the wallet agrees with its own entries
    ledger + pendingSum === snap.balance;
  return { ok, ledger, wallet: snap.balance, pending, seq: snap.seq };
}
