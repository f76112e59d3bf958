import { DurableObject } from "cloudflare:workers";
import { LEDGER_TYPES, type LedgerType } from "../db/schema/ledger";
import type { Env } from "../env";
import { newId } from "../lib/ids";
import { log, setLogLevel } from "../lib/log";
import {
  type Allocation,
  allocate,
  availableOf,
  burnOrder,
  expiredGrants,
  GRANT_SOURCES,
  type GrantSource,
  isLive,
  priorityOf,
  splitSettlement,
} from "./ledger";
import type {
  AdjustArgs,
  AdjustResult,
  DebitArgs,
  DebitResult,
  FailureCode,
  GrantArgs,
  GrantResult,
  LedgerEntry,
  ReserveArgs,
  ReserveResult,
  SettleArgs,
  SettleResult,
  Tokens,
  TransferArgs,
  TransferResult,
  VoidResult,
  WalletAudit,
  WalletFailure,
  WalletFaults,
  WalletStats,
} from "./types";

interface GrantRow extends Record<string, SqlStorageValue> {
  id: string;
  source: string;
  amount: number;
  /** Spendable now: not burned and not held. */
  remaining: number;
  /** Taken by open holds: not burned yet, not spendable either. */
  held: number;
  priority: number;
  expires_at: number | null;
  reference: string | null;
  created_at: number;
  /** Bumped when the grant's unburned amount changes; 0 once D1's mirror has it. */
  mirror_dirty: number;
}

/** A grant row with the camel-cased times the ledger functions read. */
type GrantView = GrantRow & { expiresAt: number | null; createdAt: number };

const grantView = (g: GrantRow): GrantView => ({ ...g, expiresAt: g.expires_at, createdAt: g.created_at });

interface HoldRow extends Record<string, SqlStorageValue> {
  id: string;
  amount: number;
  allocations: string;
  deadline: number;
  /** open → settled | voided (by the caller) | expired (deadline passed). */
  status: string;
  reference: string | null;
  created_at: number;
}

interface EntryRow extends Record<string, SqlStorageValue> {
  seq: number;
  id: string;
  type: string;
  amount: number;
  balance_after: number;
  grant_id: string | null;
  hold_id: string | null;
  reference: string | null;
  idempotency_key: string | null;
  description: string;
  feature: string | null;
  generation_id: string | null;
  created_at: number;
  synced: number;
}

interface CreditRow extends Record<string, SqlStorageValue> {
  key: string;
  to_wallet: string;
  amount: number;
  description: string;
  reference: string | null;
  parts: string | null;
}

/** One piece of a transfer: tokens that expired together stay together. */
interface CreditPart {
  amount: number;
  expiresAt: number | null;
}

/** How long the alarm waits before retrying a D1 flush or a transfer credit. */
const RETRY_MS = 5_000;
/** Entries per D1 batch: well under D1's statement and parameter limits. */
const FLUSH_BATCH = 50;
/** Largest single amount accepted: sums stay exact in a double and in SQLite. */
const MAX_AMOUNT = 1_000_000_000;
const MAX_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * Records of reserve/settle/void and closed holds are dropped after this long:
 * a generation retried later than that is a new generation (its D1 row keeps
 * the request's own idempotency). Grant, debit, adjust and transfer records
 * are kept forever: they guard money coming in and going out.
 */
const SHORT_LIVED_OPS_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * The object's own schema, applied in order and recorded in `meta`. Version 1
 * is the first shape that shipped; later versions only add to it.
 */
const SCHEMA: string[] = [
  `CREATE TABLE IF NOT EXISTS grants (
     id TEXT PRIMARY KEY, source TEXT NOT NULL, amount INTEGER NOT NULL,
     remaining INTEGER NOT NULL, priority INTEGER NOT NULL, expires_at INTEGER,
     reference TEXT, created_at INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS holds (
     id TEXT PRIMARY KEY, amount INTEGER NOT NULL, allocations TEXT NOT NULL,
     deadline INTEGER NOT NULL, status TEXT NOT NULL, reference TEXT,
     created_at INTEGER NOT NULL);
   CREATE INDEX IF NOT EXISTS holds_open ON holds (status, deadline);
   CREATE TABLE IF NOT EXISTS ops (
     key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT NOT NULL,
     created_at INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS entries (
     seq INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL,
     amount INTEGER NOT NULL, balance_after INTEGER NOT NULL, grant_id TEXT,
     hold_id TEXT, reference TEXT, idempotency_key TEXT, description TEXT NOT NULL,
     feature TEXT, generation_id TEXT, created_at INTEGER NOT NULL,
     synced INTEGER NOT NULL DEFAULT 0);
   CREATE INDEX IF NOT EXISTS entries_unsynced ON entries (synced, seq);
   CREATE TABLE IF NOT EXISTS credits (
     key TEXT PRIMARY KEY, to_wallet TEXT NOT NULL, amount INTEGER NOT NULL,
     description TEXT NOT NULL, reference TEXT, created_at INTEGER NOT NULL);`,
  // v2: per-grant held amounts (balance = Σ remaining + held, no scan of holds),
  // a D1 mirror outbox per grant, running totals, transfers that keep expiry.
  `ALTER TABLE grants ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE grants ADD COLUMN mirror_dirty INTEGER NOT NULL DEFAULT 1;
   UPDATE grants SET held = (
     SELECT coalesce(sum(json_extract(a.value, '$.amount')), 0)
     FROM holds h, json_each(h.allocations) a
     WHERE h.status = 'open' AND json_extract(a.value, '$.grantId') = grants.id);
   ALTER TABLE credits ADD COLUMN parts TEXT;
   CREATE TABLE totals (id INTEGER PRIMARY KEY CHECK (id = 1), used INTEGER NOT NULL, purchased INTEGER NOT NULL);
   INSERT INTO totals SELECT 1,
     coalesce(sum(CASE WHEN type = 'usage' THEN -amount END), 0),
     coalesce(sum(CASE WHEN type = 'purchase' THEN amount END), 0) FROM entries;`,
  // v3: D1 traffic counters that survive restarts (the rows-written budget).
  `CREATE TABLE flush_stats (id INTEGER PRIMARY KEY CHECK (id = 1), batches INTEGER NOT NULL,
     rows_written INTEGER NOT NULL, entries INTEGER NOT NULL);
   INSERT INTO flush_stats VALUES (1, 0, 0, 0);`,
];

type Outcome<T extends object> = ({ ok: true } & T) | WalletFailure;

/**
 * One wallet: the only place a balance changes (ARCHITECTURE.md, "The wallet";
 * docs/decisions/001-wallet.md).
 *
 * Every change runs as one synchronous SQLite transaction in the object's own
 * storage — check, effect, idempotency record and ledger entry together — so
 * no interleaving of requests can double-spend, and a crash keeps all or none.
 * Entries then reach D1 through an outbox (`entries.synced = 0`) flushed right
 * after the change and retried by the alarm until D1 has them.
 */
export class Wallet extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private boundId: string | null;
  private flushing = false;
  /** The alarm as this object last set or read it (undefined: not read since start). */
  private alarmAt: number | null | undefined;
  private syncWaiters: { seq: number; resolve: () => void }[] = [];
  /** The seq of the last entry appended by this instance (unknown after a restart). */
  private lastSeq: number | undefined;
  /** Whether the credits outbox may hold something (unknown after a restart). */
  private creditsMaybe = true;
  private appended = 0;
  private expiries = 0;
  private faults: Required<WalletFaults> = { d1: "ok", unavailable: false, loseAnswers: null };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    setLogLevel(env.LOG_LEVEL);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
    ctx.storage.transactionSync(() => {
      const version = Number(this.meta("schema_version") ?? 0);
      for (let v = version; v < SCHEMA.length; v++) this.sql.exec(SCHEMA[v] as string);
      this.setMeta("schema_version", String(SCHEMA.length));
    });
    this.boundId = this.meta("wallet_id");
  }

  // ── RPC: changes ───────────────────────────────────────────────────────

  /** Adds tokens as a grant (free, welcome, purchase, promo, allowance, transfer…). */
  async grant(args: GrantArgs): Promise<GrantResult> {
    this.enter(args.walletId);
    const bad =
      checkKey(args.key) ??
      checkAmount(args.amount, "A grant") ??
      checkText(args.description, "description") ??
      (GRANT_SOURCES.includes(args.source) ? null : invalid("Unknown grant source.")) ??
      (args.type === undefined || LEDGER_TYPES.includes(args.type) ? null : invalid("Unknown entry type.")) ??
      (args.expiresAt == null || Number.isSafeInteger(args.expiresAt)
        ? null
        : invalid("expiresAt must be a time in epoch milliseconds."));
    if (bad) return this.answer(bad);
    return this.change(`grant:${args.key}`, args, () => ({
      ok: true as const,
      grantId: this.addGrant(args, Date.now()),
    }));
  }

  /**
   * Holds `amount` tokens until `ttlMs` from now. The check and the
   * reservation are one transaction: whatever the concurrency, the sum of
   * holds never exceeds what the grants had.
   */
  async reserve(args: ReserveArgs): Promise<ReserveResult> {
    this.enter(args.walletId);
    const bad =
      checkKey(args.key) ??
      checkAmount(args.amount, "A hold") ??
      (Number.isSafeInteger(args.ttlMs) && args.ttlMs >= 1000 && args.ttlMs <= MAX_TTL_MS
        ? null
        : invalid("ttlMs must be between 1 second and 24 hours."));
    if (bad) return this.answer(bad);
    return this.change(`reserve:${args.key}`, args, () => {
      const now = Date.now();
      const grants = this.expireDue(now);
      const allocations = allocate(grants, args.amount, now);
      if (!allocations) return insufficient(args.amount, availableOf(grants, now));
      for (const a of allocations) {
        this.sql.exec(
          "UPDATE grants SET remaining = remaining - ?1, held = held + ?1 WHERE id = ?2",
          a.amount,
          a.grantId,
        );
      }
      const holdId = newId("hld");
      const deadline = now + args.ttlMs;
      this.sql.exec(
        "INSERT INTO holds VALUES (?, ?, ?, ?, 'open', ?, ?)",
        holdId,
        args.amount,
        JSON.stringify(allocations),
        deadline,
        args.reference ?? null,
        now,
      );
      return { ok: true as const, holdId, held: args.amount, deadline: new Date(deadline).toISOString() };
    });
  }

  /**
   * Burns `amount` (≤ held) of a hold and releases the rest. Refused once the
   * deadline has passed (the hold is released then, as the alarm would).
   * Settling again with the same arguments returns the first result.
   */
  async settle(args: SettleArgs): Promise<SettleResult> {
    this.enter(args.walletId);
    const bad =
      (typeof args.holdId === "string" ? null : invalid("holdId is required.")) ??
      checkText(args.description, "description") ??
      (Number.isSafeInteger(args.amount) && args.amount >= 0
        ? null
        : fail("invalid_amount", "A settlement must be a whole number of tokens, 0 or more."));
    if (bad) return this.answer(bad);
    return this.change(`settle:${args.holdId}`, args, () => {
      const now = Date.now();
      const hold = this.hold(args.holdId);
      if (isFailure(hold)) return hold;
      if (hold.status === "expired") return holdExpired();
      if (hold.status !== "open") return fail("hold_closed", `The hold was already ${hold.status}.`);
      if (args.amount > hold.amount) {
        return fail("invalid_amount", `A settlement must be between 0 and the held ${hold.amount} tokens.`);
      }
      if (hold.deadline <= now) {
        this.closeHold(hold, 0, "expired", now);
        return holdExpired();
      }
      const entryId = this.closeHold(hold, args.amount, "settled", now, args);
      return { ok: true as const, charged: args.amount, entryId };
    });
  }

  /** Releases a whole hold: nothing is charged. Voiding a closed hold changes nothing. */
  async void(args: { walletId: string; holdId: string }): Promise<VoidResult> {
    this.enter(args.walletId);
    if (typeof args.holdId !== "string") return this.answer(invalid("holdId is required."));
    return this.change(`void:${args.holdId}`, args, () => {
      const hold = this.hold(args.holdId);
      if (isFailure(hold)) return hold;
      if (hold.status !== "open") {
        return { ok: true as const, status: hold.status as "voided" | "expired" | "settled" };
      }
      this.closeHold(hold, 0, "voided", Date.now());
      return { ok: true as const, status: "voided" as const };
    });
  }

  /**
   * Takes tokens out: refunds, chargebacks. With `partial`, takes what is
   * there up to `amount` (never below zero); otherwise all or nothing.
   * `grantIds` limits it to those grants (a refund claws back only what is
   * left of its purchase). Held tokens are not taken: they are spoken for.
   */
  async debit(args: DebitArgs): Promise<DebitResult> {
    this.enter(args.walletId);
    const bad =
      checkKey(args.key) ??
      checkAmount(args.amount, "A debit") ??
      checkText(args.description, "description") ??
      (LEDGER_TYPES.includes(args.type) ? null : invalid("Unknown entry type."));
    if (bad) return this.answer(bad);
    return this.change(`debit:${args.key}`, args, () => {
      const now = Date.now();
      this.expireDue(now);
      const taken = this.take(args, now);
      if (taken === null) {
        return insufficient(args.amount, availableOf(this.liveGrants(now), now));
      }
      return { ok: true as const, debited: taken.amount };
    });
  }

  /**
   * An admin adjustment under one idempotency key: a positive amount is an
   * `adjustment` grant; a negative one takes what is there up to it, so the
   * balance never goes below zero.
   */
  async adjust(args: AdjustArgs): Promise<AdjustResult> {
    this.enter(args.walletId);
    const bad =
      checkKey(args.key) ??
      checkText(args.reason, "reason") ??
      (Number.isSafeInteger(args.amount) && args.amount !== 0 && Math.abs(args.amount) <= MAX_AMOUNT
        ? null
        : fail("invalid_amount", "An adjustment must be a non-zero whole number of tokens."));
    if (bad) return this.answer(bad);
    return this.change(`adjust:${args.key}`, args, () => {
      const now = Date.now();
      const base = { key: args.key, description: args.reason, reference: args.key };
      if (args.amount > 0) {
        this.addGrant({ ...base, source: "adjustment", type: "adjustment", amount: args.amount }, now);
        return { ok: true as const, adjusted: args.amount };
      }
      this.expireDue(now);
      const taken = this.take({ ...base, amount: -args.amount, type: "adjustment", partial: true }, now);
      return { ok: true as const, adjusted: taken?.amount ? -taken.amount : 0 };
    });
  }

  /**
   * Moves every available token to another wallet, exactly once per key. The
   * debit and the pending credit commit together here; the credit is then a
   * grant on the other wallet under a key derived from this one, retried by
   * the alarm until it lands, so it lands once. Expiry dates travel along.
   *
   * Tokens held by generations in flight cannot move yet. The wallet
   * remembers where it was transferred to, and whatever a hold releases later
   * (void, a settle below the hold, expiry) follows there (`forwardReleased`).
   */
  async transfer(args: TransferArgs): Promise<TransferResult> {
    this.enter(args.walletId);
    const bad =
      checkKey(args.key) ??
      checkText(args.description, "description") ??
      (typeof args.to === "string" && args.to.length > 0 ? null : invalid("A target wallet is required.")) ??
      (args.to === args.walletId ? invalid("A wallet cannot transfer to itself.") : null);
    if (bad) return this.answer(bad);
    const result = this.run(`transfer:${args.key}`, args, () => {
      const now = Date.now();
      this.setMeta("forward_to", args.to);
      this.setMeta("forward_description", args.description);
      const grants = this.expireDue(now);
      const available = availableOf(grants, now);
      if (available === 0) return { ok: true as const, moved: 0 };
      const taken = this.take(
        {
          key: args.key,
          amount: available,
          type: "transfer_out",
          description: args.description,
          reference: args.to,
          partial: false,
        },
        now,
      );
      this.queueCredit(args.key, args.to, args.description, grants, taken?.allocations ?? [], now);
      return { ok: true as const, moved: available };
    });
    // A change delivers its credit on the way out; a replay retries one still pending.
    if (!result.appended) await this.deliverCredits();
    return this.settleUp(result.outcome, result.appended);
  }

  // ── RPC: reads and upkeep ──────────────────────────────────────────────

  async balance(args: { walletId: string }): Promise<Tokens> {
    this.enter(args.walletId);
    const before = this.appended;
    this.ctx.storage.transactionSync(() => this.expireDue(Date.now()));
    if (this.appended !== before) await this.afterChange();
    return this.tokens();
  }

  /** The wallet's own copy of its ledger, newest first. */
  async history(args: { walletId: string; limit?: number; before?: number }): Promise<LedgerEntry[]> {
    this.enter(args.walletId);
    return this.sql
      .exec<EntryRow>(
        "SELECT * FROM entries WHERE seq < ? ORDER BY seq DESC LIMIT ?",
        args.before ?? Number.MAX_SAFE_INTEGER,
        Math.min(Math.max(args.limit ?? 50, 1), 500),
      )
      .toArray()
      .map(toEntry);
  }

  /**
   * Releases holds past their deadline, expires grants, forgets old
   * short-lived records, delivers pending credits and flushes the outbox.
   * The alarm calls it; so may anyone (it is idempotent).
   */
  async sweep(): Promise<{ voided: number; expired: number; unsynced: number; pendingCredits: number }> {
    this.gate();
    const now = Date.now();
    const before = this.expiries;
    const voided = this.ctx.storage.transactionSync(() => {
      const overdue = this.sql
        .exec<HoldRow>("SELECT * FROM holds WHERE status = 'open' AND deadline <= ?", now)
        .toArray();
      for (const hold of overdue) this.closeHold(hold, 0, "expired", now);
      this.expireDue(now);
      const old = now - SHORT_LIVED_OPS_MS;
      this.sql.exec(
        "DELETE FROM ops WHERE created_at < ? AND (key LIKE 'reserve:%' OR key LIKE 'settle:%' OR key LIKE 'void:%')",
        old,
      );
      this.sql.exec("DELETE FROM holds WHERE status <> 'open' AND created_at < ?", old);
      return overdue.length;
    });
    await this.afterChange();
    return {
      voided,
      expired: this.expiries - before,
      unsynced: this.count("SELECT count(*) AS n FROM entries WHERE synced = 0"),
      pendingCredits: this.count("SELECT count(*) AS n FROM credits"),
    };
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null; // this one is spent; sweep sets the next
    if (this.boundId === null) return;
    // An injected outage: try again later, as after a real failure.
    if (this.faults.unavailable) {
      this.alarmAt = Date.now() + RETRY_MS;
      return this.ctx.storage.setAlarm(this.alarmAt);
    }
    await this.sweep();
  }

  /**
   * A consistent snapshot for reconcile (worker/wallet/reconcile.ts): flushes
   * the outbox, then reads, with no await in between, the last entry's seq,
   * the balance at that point, the entries D1 may not have yet, and which of
   * `check` (D1 rows past the synced prefix) this wallet never wrote.
   */
  async audit(args: { check?: { seq: number; id: string }[] } = {}): Promise<WalletAudit> {
    this.gate();
    await this.flush();
    const totals = this.sql
      .exec<{ seq: number; sum: number }>(
        "SELECT coalesce(max(seq), 0) AS seq, coalesce(sum(amount), 0) AS sum FROM entries",
      )
      .one();
    const unsynced = this.sql
      .exec<{ seq: number; id: string; amount: number }>(
        "SELECT seq, id, amount FROM entries WHERE synced = 0 ORDER BY seq",
      )
      .toArray();
    const unknown = (args.check ?? [])
      .filter(
        (c) =>
          this.sql.exec("SELECT 1 FROM entries WHERE seq = ? AND id = ?", c.seq, c.id).toArray().length === 0,
      )
      .map((c) => c.seq);
    return {
      walletId: this.boundId,
      seq: totals.seq,
      balance: this.balanceNow(),
      entriesSum: totals.sum,
      unsynced,
      unknown,
    };
  }

  async stats(): Promise<WalletStats> {
    const d1 = this.sql
      .exec<{ batches: number; rows_written: number; entries: number }>("SELECT * FROM flush_stats")
      .one();
    return {
      d1Batches: d1.batches,
      d1RowsWritten: d1.rows_written,
      entriesFlushed: d1.entries,
      unsynced: this.count("SELECT count(*) AS n FROM entries WHERE synced = 0"),
      pendingCredits: this.count("SELECT count(*) AS n FROM credits"),
    };
  }

  /** Test hook: inject faults (D1 down or losing acks, object unreachable, answers lost). */
  async setFaults(faults: WalletFaults): Promise<void> {
    this.faults = { ...this.faults, ...faults };
  }

  // ── the transaction and its aftermath ──────────────────────────────────

  /**
   * Runs `effect` in one storage transaction with its idempotency record.
   * The same key with the same arguments returns the stored result; with
   * other arguments it is refused. Refusals are not stored, so an operation
   * refused for want of tokens can succeed under the same key later.
   */
  private run<T extends object>(
    opKey: string,
    args: object,
    effect: () => Outcome<T>,
  ): { outcome: Outcome<T> & { replayed?: boolean }; appended: boolean } {
    const fingerprint = canonicalJson(args);
    const before = this.appended;
    const outcome = this.ctx.storage.transactionSync(() => {
      const prior = this.sql
        .exec<{ fingerprint: string; result: string }>(
          "SELECT fingerprint, result FROM ops WHERE key = ?",
          opKey,
        )
        .toArray()[0];
      if (prior) {
        if (prior.fingerprint !== fingerprint) {
          return fail("idempotency_conflict", "This idempotency key was already used with other arguments.");
        }
        return { ...(JSON.parse(prior.result) as Outcome<T>), replayed: true };
      }
      const result = effect();
      if (result.ok) {
        this.sql.exec(
          "INSERT INTO ops VALUES (?, ?, ?, ?)",
          opKey,
          fingerprint,
          JSON.stringify(result),
          Date.now(),
        );
      }
      // Defence in depth: a bug that drives a grant negative rolls everything back.
      if (this.count("SELECT count(*) AS n FROM grants WHERE remaining < 0 OR held < 0") > 0) {
        throw new Error("wallet invariant violated: negative grant");
      }
      return result;
    });
    return { outcome, appended: this.appended !== before };
  }

  private async change<T extends object>(opKey: string, args: object, effect: () => Outcome<T>) {
    const { outcome, appended } = this.run(opKey, args, effect);
    const answer = await this.settleUp(outcome, appended);
    const lose = this.faults.loseAnswers;
    if (lose && lose.times > 0 && opKey.startsWith(`${lose.op}:`)) {
      lose.times--;
      throw new Error(`${lose.op} answer lost (injected fault)`);
    }
    return answer;
  }

  /**
   * Answers once the change is on its way: if it wrote ledger entries, waits
   * for the flush (so the caller can read its entry from D1 at once while D1
   * is up), then attaches the balance.
   */
  private async settleUp<R extends { ok: boolean }>(
    outcome: R,
    appended: boolean,
  ): Promise<R & { tokens: Tokens }> {
    if (appended) await this.afterChange();
    else if (outcome.ok) await this.scheduleAlarm();
    return { ...outcome, tokens: this.tokens() };
  }

  private answer(failure: WalletFailure): WalletFailure & { tokens: Tokens } {
    return { ...failure, tokens: this.tokens() };
  }

  /** After a committed change: deliver pending credits, push the outbox to D1, set the next alarm. */
  private async afterChange(): Promise<void> {
    if (this.creditsMaybe) {
      if (this.count("SELECT count(*) AS n FROM credits") > 0) await this.deliverCredits();
      else this.creditsMaybe = false;
    }
    await this.flush(true);
    await this.scheduleAlarm();
  }

  /** Checks the fault hook and remembers which wallet this object is. */
  private enter(walletId: string) {
    this.gate();
    if (this.boundId === walletId) return;
    if (typeof walletId !== "string" || walletId.length === 0) throw new Error("walletId is required");
    if (this.boundId !== null) throw new Error(`wallet object ${this.boundId} addressed as ${walletId}`);
    // Object ids are hashes of the name; the alarm needs the name back.
    this.setMeta("wallet_id", walletId);
    this.boundId = walletId;
  }

  private gate() {
    if (this.faults.unavailable) throw new Error("wallet unavailable (injected fault)");
  }

  // ── effects (inside a transaction) ─────────────────────────────────────

  private addGrant(
    g: Pick<GrantArgs, "key" | "source" | "type" | "amount" | "expiresAt" | "description" | "reference">,
    now: number,
  ): string {
    const grantId = newId("grt");
    this.sql.exec(
      `INSERT INTO grants (id, source, amount, remaining, priority, expires_at, reference, created_at, held, mirror_dirty)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 1)`,
      grantId,
      g.source,
      g.amount,
      g.amount,
      priorityOf(g.source),
      g.expiresAt ?? null,
      g.reference ?? null,
      now,
    );
    this.append({
      type: g.type ?? defaultTypeFor(g.source),
      amount: g.amount,
      grantId,
      reference: g.reference ?? null,
      idempotencyKey: g.key,
      description: g.description,
    });
    // A grant that arrives already expired (a late transfer credit) expires at once.
    this.expireDue(now);
    return grantId;
  }

  /**
   * Burns `actual` of the hold and releases the rest to the grants it came
   * from; writes the usage entry when something is burned.
   */
  private closeHold(
    hold: HoldRow,
    actual: number,
    status: "settled" | "voided" | "expired",
    now: number,
    meta?: Pick<SettleArgs, "description" | "feature" | "generationId" | "reference">,
  ): string | null {
    const { burn, release } = splitSettlement(JSON.parse(hold.allocations) as Allocation[], actual);
    for (const b of burn) {
      this.sql.exec(
        "UPDATE grants SET held = held - ?1, mirror_dirty = mirror_dirty + 1 WHERE id = ?2",
        b.amount,
        b.grantId,
      );
    }
    for (const r of release) {
      this.sql.exec(
        "UPDATE grants SET held = held - ?1, remaining = remaining + ?1 WHERE id = ?2",
        r.amount,
        r.grantId,
      );
    }
    this.sql.exec("UPDATE holds SET status = ? WHERE id = ?", status, hold.id);
    const entryId =
      actual === 0
        ? null
        : this.append({
            type: "usage",
            amount: -actual,
            grantId: burn.length === 1 ? (burn[0]?.grantId ?? null) : null,
            holdId: hold.id,
            reference: meta?.reference ?? hold.reference,
            idempotencyKey: `settle:${hold.id}`,
            description: meta?.description ?? "Usage",
            feature: meta?.feature ?? null,
            generationId: meta?.generationId ?? null,
          });
    // Released tokens of a grant that expired meanwhile expire now.
    this.expireDue(now);
    this.forwardReleased(hold.id, release, now);
    return entryId;
  }

  /**
   * After a transfer (sign-in), tokens a hold gives back belong to the wallet
   * this one was transferred to: they leave here as a `transfer_out` and
   * arrive there as a grant through the credits outbox. Keyed by the hold,
   * which closes once, so they move once.
   */
  private forwardReleased(holdId: string, release: Allocation[], now: number): void {
    const released = release.reduce((n, r) => n + r.amount, 0);
    if (released === 0) return;
    const to = this.meta("forward_to");
    if (to === null) return;
    const key = `forward:${holdId}`;
    const description = this.meta("forward_description") ?? "Tokens released after a transfer";
    const grants = this.liveGrants(now);
    const taken = this.take(
      {
        key,
        amount: released,
        type: "transfer_out",
        description,
        reference: to,
        partial: true,
        grantIds: release.map((r) => r.grantId),
      },
      now,
    );
    if (taken && taken.amount > 0) this.queueCredit(key, to, description, grants, taken.allocations, now);
  }

  /** Records tokens taken here as a credit owed to `to`, split by expiry so it travels along. */
  private queueCredit(
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
    this.creditsMaybe = true;
    this.sql.exec(
      "INSERT INTO credits (key, to_wallet, amount, description, reference, created_at, parts) VALUES (?, ?, ?, ?, ?, ?, ?)",
      key,
      to,
      allocations.reduce((n, a) => n + a.amount, 0),
      description,
      this.boundId,
      now,
      JSON.stringify([...parts].map(([expiresAt, amount]): CreditPart => ({ amount, expiresAt }))),
    );
  }

  /**
   * Takes tokens from live grants in burn order and writes one entry.
   * Returns what was taken, or null when all-or-nothing could not be met.
   */
  private take(
    args: Pick<DebitArgs, "key" | "amount" | "type" | "description" | "reference" | "partial" | "grantIds">,
    now: number,
  ): { amount: number; allocations: Allocation[] } | null {
    let grants = this.liveGrants(now);
    if (args.grantIds) {
      const only = new Set(args.grantIds);
      grants = grants.filter((g) => only.has(g.id));
    }
    const have = availableOf(grants, now);
    const amount = args.partial ? Math.min(args.amount, have) : args.amount;
    if (amount === 0) return { amount: 0, allocations: [] };
    const allocations = allocate(grants, amount, now);
    if (!allocations) return null;
    for (const a of allocations) {
      this.sql.exec(
        "UPDATE grants SET remaining = remaining - ?1, mirror_dirty = mirror_dirty + 1 WHERE id = ?2",
        a.amount,
        a.grantId,
      );
    }
    this.append({
      type: args.type,
      amount: -amount,
      grantId: allocations.length === 1 ? (allocations[0]?.grantId ?? null) : null,
      reference: args.reference ?? null,
      idempotencyKey: args.key,
      description: args.description,
    });
    return { amount, allocations };
  }

  /**
   * Writes an `expiry` entry for each grant past its expiry with spendable
   * tokens left. Returns the grants still live, in burn order (what
   * `liveGrants` would read next, without reading again).
   */
  private expireDue(now: number): GrantView[] {
    const grants = this.grantsWithTokens();
    const expired = expiredGrants(grants, now);
    for (const g of expired) {
      this.sql.exec("UPDATE grants SET remaining = 0, mirror_dirty = mirror_dirty + 1 WHERE id = ?", g.id);
      this.append({
        type: "expiry",
        amount: -g.remaining,
        grantId: g.id,
        reference: g.id,
        idempotencyKey: null,
        description: `${sourceLabel(g.source)} tokens expired`,
      });
      this.expiries++;
    }
    // Those just expired are past their expiry, so `isLive` leaves them out.
    return grants.filter((g) => isLive(g, now)).sort(burnOrder);
  }

  /** Appends a ledger entry (and its outbox mark) inside the current transaction. */
  private append(e: {
    type: LedgerType;
    amount: number;
    grantId?: string | null;
    holdId?: string | null;
    reference: string | null;
    idempotencyKey: string | null;
    description: string;
    feature?: string | null;
    generationId?: string | null;
  }): string {
    const id = newId("txn");
    // balance_after: tokens the wallet owns, Σ remaining + held over its grants.
    this.lastSeq = this.sql
      .exec<{ seq: number }>(
        `INSERT INTO entries (id, type, amount, balance_after, grant_id, hold_id, reference,
           idempotency_key, description, feature, generation_id, created_at)
         VALUES (?, ?, ?, (SELECT coalesce(sum(remaining + held), 0) FROM grants), ?, ?, ?, ?, ?, ?, ?, ?)
         RETURNING seq`,
        id,
        e.type,
        e.amount,
        e.grantId ?? null,
        e.holdId ?? null,
        e.reference,
        e.idempotencyKey,
        e.description,
        e.feature ?? null,
        e.generationId ?? null,
        Date.now(),
      )
      .one().seq;
    if (e.type === "usage") this.sql.exec("UPDATE totals SET used = used - ?", e.amount);
    if (e.type === "purchase") this.sql.exec("UPDATE totals SET purchased = purchased + ?", e.amount);
    this.appended++;
    return id;
  }

  // ── reads ──────────────────────────────────────────────────────────────

  /** Tokens the wallet owns: unburned grant remainders plus open holds. */
  private balanceNow(): number {
    return this.count("SELECT coalesce(sum(remaining + held), 0) AS n FROM grants");
  }

  private grantsWithTokens(): GrantView[] {
    return this.sql.exec<GrantRow>("SELECT * FROM grants WHERE remaining > 0").toArray().map(grantView);
  }

  /** Grants with spendable tokens that have not expired, in burn order. */
  private liveGrants(now: number): GrantView[] {
    return this.grantsWithTokens()
      .filter((g) => isLive(g, now))
      .sort(burnOrder);
  }

  private hold(holdId: string): HoldRow | WalletFailure {
    return (
      this.sql.exec<HoldRow>("SELECT * FROM holds WHERE id = ?", holdId).toArray()[0] ??
      fail("hold_not_found", "No such hold.")
    );
  }

  /** The balance as callers see it: two reads, whatever the number of grants. */
  private tokens(): Tokens {
    const now = Date.now();
    const owned = this.sql
      .exec<GrantRow>("SELECT * FROM grants WHERE remaining > 0 OR held > 0")
      .toArray()
      .map(grantView);
    const live = owned.filter((g) => isLive(g, now)).sort(burnOrder);
    const totals = this.sql
      .exec<{ used: number; purchased: number }>("SELECT used, purchased FROM totals")
      .one();
    return {
      available: availableOf(live, now),
      held: owned.reduce((n, g) => n + g.held, 0),
      balance: owned.reduce((n, g) => n + g.remaining + g.held, 0),
      used: totals.used,
      purchased: totals.purchased,
      grants: live.map((g) => ({
        id: g.id,
        source: g.source as GrantSource,
        remaining: g.remaining,
        ...(g.expires_at === null ? {} : { expiresAt: new Date(g.expires_at).toISOString() }),
      })),
    };
  }

  private count(query: string): number {
    return this.sql.exec<{ n: number }>(query).one().n;
  }

  private meta(k: string): string | null {
    return this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", k).toArray()[0]?.v ?? null;
  }

  private setMeta(k: string, v: string) {
    this.sql.exec("INSERT INTO meta VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", k, v);
  }

  // ── the outbox ─────────────────────────────────────────────────────────

  /**
   * Resolves once D1 has every entry written so far (or the flush failed, and
   * the alarm takes over). One flush loop runs at a time; it sends batches
   * until the outbox is empty, so changes made while a batch is out share the
   * next one. Each caller waits only for the batch holding its own entries,
   * not for the loop to drain: a busy wallet does not make anyone wait longer.
   */
  private flush(appended = false): Promise<void> {
    if (!appended && !this.outboxPending()) return Promise.resolve();
    const seq = this.lastSeq ?? this.count("SELECT coalesce(max(seq), 0) AS n FROM entries");
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
      log("warn", "wallet.flush_failed", { walletId: this.boundId, error: String(error) });
      this.flushing = false;
      this.wake(Number.POSITIVE_INFINITY);
    }
  }

  private wake(through: number) {
    const still: typeof this.syncWaiters = [];
    for (const w of this.syncWaiters) {
      if (w.seq <= through) w.resolve();
      else still.push(w);
    }
    this.syncWaiters = still;
  }

  private outboxPending(): boolean {
    return (
      this.count(
        `SELECT EXISTS (SELECT 1 FROM entries WHERE synced = 0)
           OR EXISTS (SELECT 1 FROM grants WHERE mirror_dirty > 0) AS n`,
      ) > 0
    );
  }

  /**
   * Sends one batch. Returns the seq D1 now has every entry through, and
   * whether more may be waiting; when none is, `flushing` is cleared in the
   * same synchronous step that found the outbox empty.
   */
  private async flushBatch(): Promise<{ through: number; more: boolean }> {
    const walletId = this.boundId;
    const appendedAtRead = this.appended;
    const rows = this.sql
      .exec<EntryRow>("SELECT * FROM entries WHERE synced = 0 ORDER BY seq LIMIT ?", FLUSH_BATCH)
      .toArray();
    const grants = this.sql
      .exec<GrantRow>("SELECT * FROM grants WHERE mirror_dirty > 0 LIMIT ?", FLUSH_BATCH)
      .toArray();
    // An empty outbox: D1 has every entry there is, whatever a waiter expects.
    if (walletId === null || (rows.length === 0 && grants.length === 0)) {
      this.flushing = false;
      return { through: Number.POSITIVE_INFINITY, more: false };
    }
    if (this.faults.d1 === "down") throw new Error("D1 unavailable (injected fault)");

    const db = this.env.DB;
    const statements: D1PreparedStatement[] = [];
    if (rows[0]?.seq === 1) {
      statements.push(
        db
          .prepare("INSERT INTO wallets (id, account_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
          .bind(walletId, walletId, rows[0].created_at),
      );
    }
    for (const r of rows) {
      // Keyed by (wallet, seq): a retry after a lost acknowledgement is a no-op.
      statements.push(
        db
          .prepare(
            `INSERT INTO ledger_entries (wallet_id, seq, id, type, amount, balance_after, grant_id, hold_id,
               reference, idempotency_key, description, feature, generation_id, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          )
          .bind(
            walletId,
            r.seq,
            r.id,
            r.type,
            r.amount,
            r.balance_after,
            r.grant_id,
            r.hold_id,
            r.reference,
            r.idempotency_key,
            r.description,
            r.feature,
            r.generation_id,
            r.created_at,
          ),
      );
    }
    for (const g of grants) {
      statements.push(
        db
          .prepare(
            `INSERT INTO grants (id, wallet_id, source, amount, remaining, priority, expires_at, reference, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET remaining = excluded.remaining`,
          )
          .bind(
            g.id,
            walletId,
            g.source,
            g.amount,
            g.remaining + g.held,
            g.priority,
            g.expires_at,
            g.reference,
            g.created_at,
          ),
      );
    }
    const results = await db.batch(statements);
    if (this.faults.d1 === "lose-ack") throw new Error("D1 acknowledgement lost (injected fault)");

    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        "UPDATE flush_stats SET batches = batches + 1, rows_written = rows_written + ?, entries = entries + ?",
        results.reduce((n, r) => n + (r.meta.rows_written ?? 0), 0),
        rows.length,
      );
      const last = rows[rows.length - 1]?.seq;
      if (last !== undefined)
        this.sql.exec("UPDATE entries SET synced = 1 WHERE synced = 0 AND seq <= ?", last);
      // A grant changed again while the batch was out stays dirty for the next one.
      for (const g of grants) {
        this.sql.exec(
          "UPDATE grants SET mirror_dirty = 0 WHERE id = ? AND mirror_dirty = ?",
          g.id,
          g.mirror_dirty,
        );
      }
    });
    // Every change to a grant's mirror comes with a ledger entry, so nothing
    // appended since the read and a partial batch mean the outbox is empty:
    // the loop ends here, in the same synchronous step, without reading again.
    if (rows.length < FLUSH_BATCH && grants.length < FLUSH_BATCH && this.appended === appendedAtRead) {
      this.flushing = false;
      return { through: Number.POSITIVE_INFINITY, more: false };
    }
    const first = rows[0]?.seq;
    return { through: first === undefined ? 0 : (rows[rows.length - 1]?.seq ?? first), more: true };
  }

  /** Delivers pending transfer credits; each part is an idempotent grant on the target. */
  private async deliverCredits(): Promise<void> {
    for (const c of this.sql.exec<CreditRow>("SELECT * FROM credits").toArray()) {
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
            log("error", "wallet.credit_refused", { walletId: this.boundId, key: c.key, code: r.code });
          }
        }
        if (delivered) this.sql.exec("DELETE FROM credits WHERE key = ?", c.key);
      } catch (error) {
        log("warn", "wallet.credit_failed", { walletId: this.boundId, key: c.key, error: String(error) });
      }
    }
  }

  /** The next moment something is due: a hold deadline, a grant expiry, or a retry. */
  private async scheduleAlarm(): Promise<void> {
    const now = Date.now();
    // One read: the next deadline or expiry, and whether D1 or a credit needs a retry.
    const { due, retry } = this.sql
      .exec<{ due: number | null; retry: number }>(
        `SELECT (SELECT min(t) FROM (
                   SELECT min(deadline) AS t FROM holds WHERE status = 'open'
                   UNION ALL SELECT min(expires_at) FROM grants
                     WHERE expires_at IS NOT NULL AND remaining + held > 0)) AS due,
                EXISTS (SELECT 1 FROM entries WHERE synced = 0)
                  OR EXISTS (SELECT 1 FROM grants WHERE mirror_dirty > 0)
                  OR EXISTS (SELECT 1 FROM credits) AS retry`,
      )
      .one();
    const candidates = [due, retry ? now + RETRY_MS : null].filter((t): t is number => t !== null);
    if (candidates.length === 0) return;
    const when = Math.max(Math.min(...candidates), now);
    const current = this.alarmAt !== undefined ? this.alarmAt : await this.ctx.storage.getAlarm();
    // A past alarm is about to run: leave it be (re-setting it on every change
    // could starve it on a busy wallet). alarm() clears `alarmAt` so the sweep
    // it runs sets the next one.
    if (current === null || current > when) {
      await this.ctx.storage.setAlarm(when);
      this.alarmAt = when;
    } else {
      this.alarmAt = current;
    }
  }
}

// ── helpers ──────────────────────────────────────────────────────────────

function fail(code: FailureCode, message: string): WalletFailure {
  return { ok: false, code, message };
}

function invalid(message: string): WalletFailure {
  return fail("invalid_request", message);
}

function insufficient(required: number, available: number): WalletFailure {
  return {
    ok: false,
    code: "insufficient_tokens",
    message: "Not enough tokens for this request.",
    required,
    available,
  };
}

function holdExpired(): WalletFailure {
  return fail("hold_expired", "The hold passed its deadline and was released.");
}

function checkKey(key: unknown): WalletFailure | null {
  return typeof key === "string" && key.length > 0 && key.length <= 256
    ? null
    : invalid("An idempotency key of 1 to 256 characters is required.");
}

function checkAmount(amount: unknown, what: string): WalletFailure | null {
  return Number.isSafeInteger(amount) && (amount as number) > 0 && (amount as number) <= MAX_AMOUNT
    ? null
    : fail("invalid_amount", `${what} must be a positive whole number of tokens.`);
}

function checkText(text: unknown, field: string): WalletFailure | null {
  return typeof text === "string" && text.length <= 500
    ? null
    : invalid(`${field} must be text of at most 500 characters.`);
}

function isFailure(x: HoldRow | WalletFailure): x is WalletFailure {
  return x.ok === false;
}

/** JSON with sorted keys and no undefined: the same arguments give the same fingerprint. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .filter((k) => v[k] !== undefined)
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

function defaultTypeFor(source: GrantSource): LedgerType {
  switch (source) {
    case "free":
      return "grant";
    case "transfer":
      return "transfer_in";
    default:
      return source;
  }
}

function sourceLabel(source: string): string {
  return source.charAt(0).toUpperCase() + source.slice(1);
}

function toEntry(r: EntryRow): LedgerEntry {
  return {
    id: r.id,
    seq: r.seq,
    type: r.type as LedgerType,
    amount: r.amount,
    balanceAfter: r.balance_after,
    grantId: r.grant_id,
    holdId: r.hold_id,
    reference: r.reference,
    description: r.description,
    feature: r.feature,
    generationId: r.generation_id,
    createdAt: new Date(r.created_at).toISOString(),
  };
}
