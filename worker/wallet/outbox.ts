import type { Env } from "../env";
import { log } from "../lib/log";
import { CHARGE_UNCONFIRMED, confirmed, confirmedErrorCode } from "./admission";
import type { Book } from "./book";
import { wallet } from "./client";
import type { Faults } from "./faults";
import type { Allocation } from "./ledger";
import { countRows, GrantMirror, type MirrorStatement, mirrorStatements } from "./mirror";
import type { RecordRow } from "./records";
import {
  type CreditPart,
  type CreditRow,
  type EntryRow,
  type GrantRow,
  RECORDS_UNSENT,
  UNSYNCED,
} from "./storage";
import type { ChargeConfirmation, WalletAudit, WalletStats } from "./types";

/** Entries per D1 batch: well under D1's statement and parameter limits. */
const FLUSH_BATCH = 50;

/**
 * The wallet's two outboxes. Ledger entries (past `flush_stats.synced_seq`) and the
 * grant mirror rows (`grants.mirror_dirty > 0`, at most once a minute:
 * mirror.ts) go to D1 in batches; pending
 * transfer credits (`credits`) go to the target wallet as idempotent grants.
 * Both are retried by the alarm until they land (docs/decisions/001).
 */
export class Outbox {
  private flushing = false;
  /** Generation records completed by this instance: like Book.appended, for records finished without an entry. */
  private finished = 0;
  /**
   * Whether a finished generation record may be waiting for D1 (unknown after
   * a restart): a batch with none to send skips reading them.
   */
  private recordsMaybe = true;
  /** `Book.grantsAdded` when the dirty grants were last read and all sent (-1: not yet). */
  private grantsReadAt = -1;
  private syncWaiters: { seq: number; resolve: () => void }[] = [];
  /** Which dirty grants go out with the next batch (the rest wait for the alarm). */
  readonly grants = new GrantMirror();
  /** D1 rows written by table since this instance started, for the bench (`stats()`, loopback routes). */
  private readonly rowsByTable = new Map<string, number>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly book: Book,
    private readonly faults: Faults,
    private readonly walletId: () => string | null,
    /** Sets the alarm that retries a failed flush (callers of `flush` do not). */
    private readonly onFailure: () => Promise<void>,
  ) {}

  /**
   * Resolves once D1 has every entry written so far (or the flush failed, and
   * the alarm takes over). One flush loop runs at a time; it sends batches
   * until the outbox is empty, so changes made while a batch is out share the
   * next one. Each caller waits only for the batch holding its own entries,
   * not for the loop to drain: a busy wallet does not make anyone wait longer.
   */
  flush(appended = false): Promise<void> {
    if (!appended && !this.pending()) return Promise.resolve();
    const seq = this.book.lastSeq ?? this.book.count("SELECT coalesce(max(seq), 0) AS n FROM entries");
    const synced = new Promise<void>((resolve) => this.syncWaiters.push({ seq, resolve }));
    if (!this.flushing) {
      this.flushing = true;
      void this.flushLoop();
    }
    return synced;
  }

  private async flushLoop(): Promise<void> {
    try {
      for (;;) {
        const { through, more } = await this.flushBatch();
        this.wake(through);
        if (!more) return;
      }
    } catch (error) {
      log("warn", "wallet.flush_failed", { walletId: this.walletId(), error: String(error) });
      this.flushing = false;
      try {
        await this.onFailure();
      } finally {
        this.wake(Number.POSITIVE_INFINITY);
      }
    }
  }

  /** A generation record was completed: its D1 row is due with the next batch. */
  recordFinished(): void {
    this.finished++;
    this.recordsMaybe = true;
  }

  private wake(through: number) {
    const still: typeof this.syncWaiters = [];
    for (const w of this.syncWaiters) {
      if (w.seq <= through) w.resolve();
      else still.push(w);
    }
    this.syncWaiters = still;
  }

  private pending(): boolean {
    return (
      this.book.count(
        `SELECT EXISTS (SELECT 1 FROM ${UNSYNCED})
           OR EXISTS (SELECT 1 FROM grants WHERE mirror_dirty > 0)
           OR EXISTS (SELECT 1 FROM ${RECORDS_UNSENT}) AS n`,
      ) > 0
    );
  }

  /**
   * Sends one batch. Returns the seq D1 now has every entry through, and
   * whether more may be waiting; when none is, `flushing` is cleared in the
   * same synchronous step that found the outbox empty.
   */
  private async flushBatch(): Promise<{ through: number; more: boolean }> {
    const walletId = this.walletId();
    const sql = this.book.sql;
    const appendedAtRead = this.book.appended;
    const finishedAtRead = this.finished;
    const grantsAtRead = this.book.grantsAdded;
    const rows = sql.exec<EntryRow>(`SELECT * FROM ${UNSYNCED} ORDER BY seq LIMIT ?`, FLUSH_BATCH).toArray();
    const now = this.faults.now();
    // Between full refreshes only grants new since the last read go out
    // (GrantMirror.due): with none added, the read would send nothing.
    const dirty =
      now >= this.grants.nextAt() || grantsAtRead !== this.grantsReadAt
        ? sql.exec<GrantRow>("SELECT * FROM grants WHERE mirror_dirty > 0 LIMIT ?", FLUSH_BATCH).toArray()
        : [];
    const { grants, full } = this.grants.due(dirty, now);
    const records = this.recordsMaybe
      ? sql.exec<RecordRow>(`SELECT * FROM ${RECORDS_UNSENT} LIMIT ?`, FLUSH_BATCH).toArray()
      : [];
    // An empty outbox: D1 has every entry there is, whatever a waiter expects.
    if (walletId === null || (rows.length === 0 && grants.length === 0 && records.length === 0)) {
      this.flushing = false;
      return { through: Number.POSITIVE_INFINITY, more: false };
    }
    if (this.faults.d1 === "down") throw new Error("D1 unavailable (injected fault)");

    const statements = mirrorStatements(this.env.DB, walletId, rows, grants, records);
    const results = await this.env.DB.batch(statements.map((s) => s.statement));
    if (this.faults.d1 === "lose-ack") throw new Error("D1 acknowledgement lost (injected fault)");
    const written = countRows(this.rowsByTable, statements, results);
    const { here, members } = teamConfirmations(statements, results);
    this.grants.sent(grants, full, now);
    if (dirty.length < FLUSH_BATCH) this.grantsReadAt = grantsAtRead;
    if (records.length < FLUSH_BATCH && this.finished === finishedAtRead) this.recordsMaybe = false;

    this.ctx.storage.transactionSync(() => {
      // D1 now has every entry through the batch's last: the prefix mark moves there.
      sql.exec(
        `UPDATE flush_stats SET batches = batches + 1, rows_written = rows_written + ?1, entries = entries + ?2,
           synced_seq = max(synced_seq, ?3)`,
        written,
        rows.length,
        rows[rows.length - 1]?.seq ?? 0,
      );
      for (const r of records) sql.exec("UPDATE generations SET d1_synced = 1 WHERE id = ?", r.id);
      // The team charged them: its entry carries them (decision 025), as the cron would confirm.
      for (const r of records.filter((r) => here.includes(r.id))) {
        confirmed(sql, { generationId: r.id, charged: r.charged, errorCode: confirmedErrorCode(r.status) });
      }
      // A grant changed again while the batch was out stays dirty for the next one.
      for (const g of grants) {
        sql.exec(
          "UPDATE grants SET mirror_dirty = 0 WHERE id = ? AND mirror_dirty = ?",
          g.id,
          g.mirror_dirty,
        );
      }
    });
    for (const m of members) void this.confirmInMember(m);
    // Every change to a grant's mirror comes with a ledger entry, so nothing
    // appended since the read and a partial batch mean the outbox is empty:
    // the loop ends here, in the same synchronous step, without reading again.
    if (
      rows.length < FLUSH_BATCH &&
      dirty.length < FLUSH_BATCH &&
      records.length < FLUSH_BATCH &&
      this.book.appended === appendedAtRead &&
      this.finished === finishedAtRead
    ) {
      this.flushing = false;
      return { through: Number.POSITIVE_INFINITY, more: false };
    }
    const first = rows[0]?.seq;
    return { through: first === undefined ? 0 : (rows[rows.length - 1]?.seq ?? first), more: true };
  }

  /** Tells a member's object that the team's entry confirmed its unconfirmed charge (decision 025). */
  private async confirmInMember(m: ChargeConfirmation & { accountId: string }): Promise<void> {
    try {
      const { accountId, ...confirmation } = m;
      await wallet(this.env, accountId).confirmed(confirmation);
    } catch (error) {
      log("warn", "wallet.confirm_member_failed", { walletId: this.walletId(), ...m, error: String(error) });
    }
  }

  /**
   * A consistent snapshot for reconcile, read with no await in between:
   * the last entry's seq, the balance at that point, the entries D1 may not
   * have yet, and which of `check` (D1 rows past the synced prefix) this
   * wallet never wrote. The caller flushes first.
   */
  audit(check: { seq: number; id: string }[]): WalletAudit {
    const sql = this.book.sql;
    const totals = sql
      .exec<{ seq: number; sum: number }>(
        "SELECT coalesce(max(seq), 0) AS seq, coalesce(sum(amount), 0) AS sum FROM entries",
      )
      .one();
    const unsynced = sql
      .exec<{ seq: number; id: string; amount: number }>(
        `SELECT seq, id, amount FROM ${UNSYNCED} ORDER BY seq`,
      )
      .toArray();
    const unknown = check
      .filter(
        (c) => sql.exec("SELECT 1 FROM entries WHERE seq = ? AND id = ?", c.seq, c.id).toArray().length === 0,
      )
      .map((c) => c.seq);
    return {
      walletId: this.walletId(),
      seq: totals.seq,
      balance: this.book.balanceNow(),
      entriesSum: totals.sum,
      unsynced,
      unknown,
    };
  }

  /** D1 traffic (kept across restarts) and what is still waiting to go out. */
  stats(): WalletStats {
    const d1 = this.book.sql
      .exec<{ batches: number; rows_written: number; entries: number }>("SELECT * FROM flush_stats")
      .one();
    return {
      d1Batches: d1.batches,
      d1RowsWritten: d1.rows_written,
      entriesFlushed: d1.entries,
      d1RowsByTable: Object.fromEntries(this.rowsByTable),
      unsynced: this.book.count(`SELECT count(*) AS n FROM ${UNSYNCED}`),
      pendingCredits: this.book.count("SELECT count(*) AS n FROM credits"),
    };
  }

  /** Delivers pending transfer credits; each part is an idempotent grant on the target. */
  async deliverCredits(): Promise<void> {
    for (const c of this.book.sql.exec<CreditRow>("SELECT * FROM credits").toArray()) {
      const parts: CreditPart[] = c.parts ? JSON.parse(c.parts) : [{ amount: c.amount, expiresAt: null }];
      try {
        const target = this.env.WALLET.get(this.env.WALLET.idFromName(c.to_wallet));
        let delivered = true;
        for (const [i, part] of parts.entries()) {
          const r = await target.grant({
            walletId: c.to_wallet,
            key: i === 0 ? `transfer:${c.key}` : `transfer:${c.key}#${i}`,
            source: "transfer",
            type: "transfer_in",
            amount: part.amount,
            expiresAt: part.expiresAt,
            description: c.description,
            reference: c.reference ?? undefined,
          });
          if (!r.ok) {
            delivered = false;
            log("error", "wallet.credit_refused", { walletId: this.walletId(), key: c.key, code: r.code });
          }
        }
        if (delivered) this.book.sql.exec("DELETE FROM credits WHERE key = ?", c.key);
      } catch (error) {
        log("warn", "wallet.credit_failed", { walletId: this.walletId(), key: c.key, error: String(error) });
      }
    }
  }
}

/** Records tokens taken here as a credit owed to `to`, split by expiry so it travels along. */
export function queueCredit(
  book: Book,
  key: string,
  to: string,
  description: string,
  grants: { id: string; expiresAt: number | null }[],
  allocations: Allocation[],
  now: number,
): void {
  const expiry = new Map(grants.map((g) => [g.id, g.expiresAt]));
  const parts = new Map<number | null, number>();
  for (const a of allocations) {
    const at = expiry.get(a.grantId) ?? null;
    parts.set(at, (parts.get(at) ?? 0) + a.amount);
  }
  book.creditsMaybe = true;
  book.sql.exec(
    "INSERT INTO credits (key, to_wallet, amount, description, reference, created_at, parts) VALUES (?, ?, ?, ?, ?, ?, ?)",
    key,
    to,
    allocations.reduce((n, a) => n + a.amount, 0),
    description,
    book.walletId(),
    now,
    JSON.stringify([...parts].map(([expiresAt, amount]): CreditPart => ({ amount, expiresAt }))),
  );
}

/**
 * What a batch learnt of team charges nobody heard (decision 025): records
 * here whose row was not written because the team's entry carries them, and
 * members whose unconfirmed row a team's entry here replaced.
 */
function teamConfirmations(
  statements: MirrorStatement[],
  results: D1Result[],
): { here: string[]; members: (ChargeConfirmation & { accountId: string })[] } {
  const here: string[] = [];
  const members: (ChargeConfirmation & { accountId: string })[] = [];
  for (const [i, s] of statements.entries()) {
    const result = results[i];
    if (s.confirms !== undefined && result?.meta.rows_written === 0) here.push(s.confirms);
    const deleted = (result?.results ?? []) as { error_code: string | null }[];
    if (s.replaces && deleted.some((r) => r.error_code === CHARGE_UNCONFIRMED)) members.push(s.replaces);
  }
  return { here, members };
}
