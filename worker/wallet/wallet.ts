import { DurableObject } from "cloudflare:workers";
import type { LedgerType } from "../db/schema/ledger";
import type { Env } from "../env";
import { newId } from "../lib/ids";
import { log } from "../lib/log";
import {
  type Allocation,
  allocate,
  availableOf,
  expiredGrants,
  type GrantSource,
  priorityOf,
  splitSettlement,
} from "./ledger";
import type {
  DebitArgs,
  GrantArgs,
  LedgerEntry,
  ReserveArgs,
  ReserveResult,
  SettleArgs,
  SettleResult,
  Tokens,
  TransferArgs,
  WalletAudit,
  WalletFailure,
} from "./types";

interface GrantRow extends Record<string, SqlStorageValue> {
  id: string;
  source: string;
  amount: number;
  remaining: number;
  priority: number;
  expires_at: number | null;
  reference: string | null;
  created_at: number;
}

interface HoldRow extends Record<string, SqlStorageValue> {
  id: string;
  amount: number;
  allocations: string;
  deadline: number;
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
}

/** How long the alarm waits before retrying a D1 flush or a transfer credit. */
const RETRY_MS = 5_000;
const FLUSH_BATCH = 50;

/**
 * One wallet: the only place a balance changes (ARCHITECTURE.md, "The wallet";
 * docs/decisions/001-wallet.md).
 *
 * Every change runs as one synchronous SQLite transaction in the object's own
 * storage (check, effect, idempotency record and ledger entry together), so no
 * interleaving can double-spend. Ledger entries then flow to D1 through an
 * outbox (`entries.synced = 0`) flushed right away and retried by the alarm.
 */
export class Wallet extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private flushing: Promise<void> | null = null;
  /** Test hook: when set, D1 writes throw, as during a D1 outage. */
  private d1Down = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS grants (
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
        description TEXT NOT NULL, reference TEXT, created_at INTEGER NOT NULL);
    `);
  }

  // ── RPC ────────────────────────────────────────────────────────────────

  /** Adds tokens as a grant (free, welcome, purchase, promo, allowance…). */
  async grant(args: GrantArgs): Promise<{ ok: true; grantId: string; tokens: Tokens } | WalletFailure> {
    this.bind(args.walletId);
    if (!Number.isSafeInteger(args.amount) || args.amount <= 0) {
      return this.fail("invalid_amount", "A grant must be a positive whole number of tokens.");
    }
    const result = this.once(`grant:${args.key}`, args, () => {
      const grantId = newId("grt");
      const now = Date.now();
      this.sql.exec(
        "INSERT INTO grants VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        grantId,
        args.source,
        args.amount,
        args.amount,
        priorityOf(args.source),
        args.expiresAt ?? null,
        args.reference ?? null,
        now,
      );
      this.append({
        type: args.type ?? defaultTypeFor(args.source),
        amount: args.amount,
        grantId,
        reference: args.reference ?? null,
        idempotencyKey: args.key,
        description: args.description,
      });
      return { ok: true as const, grantId };
    });
    return this.finish(result);
  }

  /** Holds `amount` tokens until `ttlMs` from now: check and reserve in one transaction. */
  async reserve(args: ReserveArgs): Promise<ReserveResult> {
    this.bind(args.walletId);
    if (!Number.isSafeInteger(args.amount) || args.amount <= 0) {
      return this.fail("invalid_amount", "A hold must be a positive whole number of tokens.");
    }
    const result = this.once(`reserve:${args.key}`, args, () => {
      const now = Date.now();
      this.expireDue(now);
      const grants = this.liveGrants();
      const allocations = allocate(grants, args.amount, now);
      if (!allocations) {
        return {
          ok: false as const,
          code: "insufficient_tokens" as const,
          message: "Not enough tokens for this request.",
          required: args.amount,
          available: availableOf(grants, now),
        };
      }
      const holdId = newId("hld");
      for (const a of allocations) {
        this.sql.exec("UPDATE grants SET remaining = remaining - ? WHERE id = ?", a.amount, a.grantId);
      }
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
    return this.finish(result);
  }

  /**
   * Burns `amount` (≤ held) of a hold and releases the rest. Refused after the
   * hold's deadline (the hold is voided instead). Settling the same hold again
   * with the same amount returns the first result.
   */
  async settle(args: SettleArgs): Promise<SettleResult> {
    this.bind(args.walletId);
    const result = this.once(`settle:${args.holdId}`, args, () => {
      const now = Date.now();
      const hold = this.openHold(args.holdId);
      if (isFailure(hold)) return hold;
      if (!Number.isSafeInteger(args.amount) || args.amount < 0 || args.amount > hold.amount) {
        return {
          ok: false as const,
          code: "invalid_amount" as const,
          message: `A settlement must be between 0 and the held ${hold.amount} tokens.`,
        };
      }
      if (hold.deadline <= now) {
        this.closeHold(hold, 0, "voided");
        return {
          ok: false as const,
          code: "hold_expired" as const,
          message: "The hold passed its deadline and was released.",
        };
      }
      const entryId = this.closeHold(hold, args.amount, "settled", args);
      return { ok: true as const, charged: args.amount, entryId };
    });
    return this.finish(result);
  }

  /** Releases a whole hold: nothing is charged. Voiding twice is harmless. */
  async void(args: {
    walletId: string;
    holdId: string;
  }): Promise<{ ok: true; tokens: Tokens } | WalletFailure> {
    this.bind(args.walletId);
    const result = this.once(`void:${args.holdId}`, args, () => {
      const hold = this.openHold(args.holdId);
      if (isFailure(hold)) {
        // Already closed by settle or by the alarm: voiding again changes nothing.
        return hold.code === "hold_not_found" ? hold : { ok: true as const };
      }
      this.closeHold(hold, 0, "voided");
      return { ok: true as const };
    });
    return this.finish(result);
  }

  /**
   * Takes tokens out: refunds, chargebacks, negative adjustments. With
   * `partial`, takes what is there up to `amount` (never below zero);
   * otherwise all of `amount` or nothing. `grantIds` limits it to those grants
   * (a refund claws back only what is left of the purchase).
   */
  async debit(args: DebitArgs): Promise<{ ok: true; debited: number; tokens: Tokens } | WalletFailure> {
    this.bind(args.walletId);
    if (!Number.isSafeInteger(args.amount) || args.amount <= 0) {
      return this.fail("invalid_amount", "A debit must be a positive whole number of tokens.");
    }
    const result = this.once(`debit:${args.key}`, args, () => {
      const debited = this.takeTokens(args);
      if (debited === null) {
        const now = Date.now();
        return {
          ok: false as const,
          code: "insufficient_tokens" as const,
          message: "Not enough tokens for this debit.",
          required: args.amount,
          available: availableOf(this.liveGrants(), now),
        };
      }
      return { ok: true as const, debited };
    });
    return this.finish(result);
  }

  /**
   * An admin adjustment: a positive amount is an `adjustment` grant; a
   * negative one takes what is there up to it, never below zero.
   */
  async adjust(args: {
    walletId: string;
    key: string;
    amount: number;
    reason: string;
  }): Promise<{ ok: true; adjusted: number; tokens: Tokens } | WalletFailure> {
    if (!Number.isSafeInteger(args.amount) || args.amount === 0) {
      this.bind(args.walletId);
      return this.fail("invalid_amount", "An adjustment must be a non-zero whole number.");
    }
    if (args.amount > 0) {
      const r = await this.grant({
        walletId: args.walletId,
        key: `adjust:${args.key}`,
        source: "adjustment",
        type: "adjustment",
        amount: args.amount,
        description: args.reason,
        reference: args.key,
      });
      return r.ok ? { ok: true, adjusted: args.amount, tokens: r.tokens } : r;
    }
    const r = await this.debit({
      walletId: args.walletId,
      key: `adjust:${args.key}`,
      amount: -args.amount,
      type: "adjustment",
      description: args.reason,
      reference: args.key,
      partial: true,
    });
    return r.ok ? { ok: true, adjusted: -r.debited, tokens: r.tokens } : r;
  }

  /**
   * Moves every available token to another wallet, exactly once per key: the
   * debit and the pending credit are one transaction here; the credit is a
   * grant on the other wallet keyed by the same key, retried until it lands.
   */
  async transfer(args: TransferArgs): Promise<{ ok: true; moved: number; tokens: Tokens } | WalletFailure> {
    this.bind(args.walletId);
    if (args.to === args.walletId) return this.fail("invalid_request", "A wallet cannot transfer to itself.");
    const result = this.once(`transfer:${args.key}`, args, () => {
      const now = Date.now();
      this.expireDue(now);
      const available = availableOf(this.liveGrants(), now);
      if (available === 0) return { ok: true as const, moved: 0 };
      this.takeTokens({
        walletId: args.walletId,
        key: args.key,
        amount: available,
        type: "transfer_out",
        description: args.description,
        reference: args.to,
        partial: false,
      });
      this.sql.exec(
        "INSERT INTO credits VALUES (?, ?, ?, ?, ?, ?)",
        args.key,
        args.to,
        available,
        args.description,
        args.walletId,
        now,
      );
      return { ok: true as const, moved: available };
    });
    await this.deliverCredits();
    return this.finish(result);
  }

  async balance(args: { walletId: string }): Promise<Tokens> {
    this.bind(args.walletId);
    const expired = this.ctx.storage.transactionSync(() => this.expireDue(Date.now()));
    if (expired > 0) await this.afterChange();
    return this.tokens();
  }

  /** The wallet's own copy of its ledger, newest first. */
  async history(args: { walletId: string; limit?: number; before?: number }): Promise<LedgerEntry[]> {
    this.bind(args.walletId);
    const rows = this.sql
      .exec<EntryRow>(
        "SELECT * FROM entries WHERE seq < ? ORDER BY seq DESC LIMIT ?",
        args.before ?? Number.MAX_SAFE_INTEGER,
        Math.min(Math.max(args.limit ?? 50, 1), 500),
      )
      .toArray();
    return rows.map((r) => this.toEntry(r));
  }

  /** Voids overdue holds, expires grants, flushes the outbox. The alarm calls it. */
  async sweep(): Promise<{ voided: number; expired: number; unsynced: number }> {
    const now = Date.now();
    const { voided, expired } = this.ctx.storage.transactionSync(() => {
      const overdue = this.sql
        .exec<HoldRow>("SELECT * FROM holds WHERE status = 'open' AND deadline <= ?", now)
        .toArray();
      for (const hold of overdue) this.closeHold(hold, 0, "voided");
      return { voided: overdue.length, expired: this.expireDue(now) };
    });
    await this.deliverCredits();
    await this.afterChange();
    const unsynced = this.sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM entries WHERE synced = 0")
      .one().n;
    return { voided, expired, unsynced };
  }

  /**
   * A consistent snapshot for reconcile (worker/wallet/reconcile.ts): flushes
   * the outbox, then reads, with no await in between, the last entry's seq,
   * the balance at that point, the entries D1 may not have yet, and which of
   * `check` (D1 rows past the synced prefix) this wallet never wrote.
   */
  async audit(args: { check?: { seq: number; id: string }[] } = {}): Promise<WalletAudit> {
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
      walletId: this.walletId(),
      seq: totals.seq,
      balance: this.balanceNow(),
      entriesSum: totals.sum,
      unsynced,
      unknown,
    };
  }

  override async alarm(): Promise<void> {
    if (!this.walletId()) return;
    await this.sweep();
  }

  /** Test hook for fault injection: simulate D1 being unavailable. */
  async setD1Down(down: boolean): Promise<void> {
    this.d1Down = down;
  }

  // ── internals ──────────────────────────────────────────────────────────

  /** Remembers which wallet this object is (ids are names, not stored by the runtime). */
  private bind(walletId: string) {
    const known = this.walletId();
    if (known === null) {
      this.sql.exec("INSERT INTO meta VALUES ('wallet_id', ?)", walletId);
    } else if (known !== walletId) {
      throw new Error(`wallet object ${known} addressed as ${walletId}`);
    }
  }

  private walletId(): string | null {
    const row = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'wallet_id'").toArray()[0];
    return row?.v ?? null;
  }

  /**
   * Runs `effect` in one transaction together with its idempotency record.
   * The same key with the same arguments returns the stored result; with other
   * arguments it is refused.
   */
  private once<R extends object>(key: string, args: object, effect: () => R): R | WalletFailure {
    const fingerprint = JSON.stringify(args);
    return this.ctx.storage.transactionSync(() => {
      const prior = this.sql
        .exec<{ fingerprint: string; result: string }>(
          "SELECT fingerprint, result FROM ops WHERE key = ?",
          key,
        )
        .toArray()[0];
      if (prior) {
        if (prior.fingerprint !== fingerprint) {
          return {
            ok: false as const,
            code: "idempotency_conflict" as const,
            message: "This idempotency key was used with other arguments.",
          };
        }
        return { ...(JSON.parse(prior.result) as R), replayed: true };
      }
      const result = effect();
      // Only effects are remembered: a refusal (say, too few tokens) may be
      // retried with the same key once the situation has changed.
      if (!("ok" in result) || result.ok !== false) {
        this.sql.exec(
          "INSERT INTO ops VALUES (?, ?, ?, ?)",
          key,
          fingerprint,
          JSON.stringify(result),
          Date.now(),
        );
      }
      return result;
    });
  }

  private async finish<R extends { ok: boolean }>(result: R): Promise<R & { tokens: Tokens }> {
    await this.afterChange();
    return { ...result, tokens: this.tokens() };
  }

  private fail(code: WalletFailure["code"], message: string): WalletFailure & { tokens: Tokens } {
    return { ok: false, code, message, tokens: this.tokens() };
  }

  private liveGrants() {
    return this.sql
      .exec<GrantRow>("SELECT * FROM grants WHERE remaining > 0")
      .toArray()
      .map((g) => ({ ...g, expiresAt: g.expires_at, createdAt: g.created_at }));
  }

  private openHold(holdId: string): HoldRow | WalletFailure {
    const hold = this.sql.exec<HoldRow>("SELECT * FROM holds WHERE id = ?", holdId).toArray()[0];
    if (!hold) return { ok: false, code: "hold_not_found", message: "No such hold." };
    if (hold.status !== "open") {
      return { ok: false, code: "hold_closed", message: `The hold was already ${hold.status}.` };
    }
    return hold;
  }

  /** Burns `actual` of the hold, releases the rest, and writes the usage entry. */
  private closeHold(
    hold: HoldRow,
    actual: number,
    status: "settled" | "voided",
    meta?: Pick<SettleArgs, "description" | "feature" | "generationId" | "reference">,
  ): string | null {
    const { burn, release } = splitSettlement(JSON.parse(hold.allocations) as Allocation[], actual);
    for (const r of release) {
      this.sql.exec("UPDATE grants SET remaining = remaining + ? WHERE id = ?", r.amount, r.grantId);
    }
    this.sql.exec("UPDATE holds SET status = ? WHERE id = ?", status, hold.id);
    if (actual === 0) return null;
    return this.append({
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
  }

  /** Takes tokens from live grants in burn order; returns how many, or null (all-or-nothing). */
  private takeTokens(args: DebitArgs): number | null {
    const now = Date.now();
    this.expireDue(now);
    let grants = this.liveGrants();
    if (args.grantIds) {
      const only = new Set(args.grantIds);
      grants = grants.filter((g) => only.has(g.id));
    }
    const have = availableOf(grants, now);
    const amount = args.partial ? Math.min(args.amount, have) : args.amount;
    if (amount === 0) return 0;
    const allocations = allocate(grants, amount, now);
    if (!allocations) return null;
    for (const a of allocations) {
      this.sql.exec("UPDATE grants SET remaining = remaining - ? WHERE id = ?", a.amount, a.grantId);
    }
    this.append({
      type: args.type,
      amount: -amount,
      grantId: allocations.length === 1 ? (allocations[0]?.grantId ?? null) : null,
      reference: args.reference ?? null,
      idempotencyKey: args.key,
      description: args.description,
    });
    return amount;
  }

  /** Writes an `expiry` entry for each grant past its expiry with tokens left. */
  private expireDue(now: number): number {
    const due = expiredGrants(this.liveGrants(), now);
    for (const g of due) {
      this.sql.exec("UPDATE grants SET remaining = 0 WHERE id = ?", g.id);
      this.append({
        type: "expiry",
        amount: -g.remaining,
        grantId: g.id,
        reference: g.id,
        idempotencyKey: null,
        description: `${g.source} tokens expired`,
      });
    }
    return due.length;
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
    const balanceAfter = this.balanceNow();
    this.sql.exec(
      `INSERT INTO entries (id, type, amount, balance_after, grant_id, hold_id, reference,
         idempotency_key, description, feature, generation_id, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      id,
      e.type,
      e.amount,
      balanceAfter,
      e.grantId ?? null,
      e.holdId ?? null,
      e.reference,
      e.idempotencyKey,
      e.description,
      e.feature ?? null,
      e.generationId ?? null,
      Date.now(),
    );
    return id;
  }

  /** Tokens the wallet owns: unburned grant remainders plus open holds. */
  private balanceNow(): number {
    const g = this.sql.exec<{ n: number }>("SELECT coalesce(sum(remaining), 0) AS n FROM grants").one().n;
    const h = this.sql
      .exec<{ n: number }>("SELECT coalesce(sum(amount), 0) AS n FROM holds WHERE status = 'open'")
      .one().n;
    return g + h;
  }

  private tokens(): Tokens {
    const now = Date.now();
    const grants = this.liveGrants();
    const held = this.sql
      .exec<{ n: number }>("SELECT coalesce(sum(amount), 0) AS n FROM holds WHERE status = 'open'")
      .one().n;
    const totals = this.sql
      .exec<{ used: number; purchased: number }>(
        `SELECT coalesce(sum(CASE WHEN type = 'usage' THEN -amount END), 0) AS used,
                coalesce(sum(CASE WHEN type = 'purchase' THEN amount END), 0) AS purchased
         FROM entries`,
      )
      .one();
    return {
      available: availableOf(grants, now),
      held,
      balance: this.balanceNow(),
      used: totals.used,
      purchased: totals.purchased,
      grants: grants
        .filter((g) => g.expires_at === null || g.expires_at > now)
        .sort(
          (a, b) => (a.expires_at ?? Infinity) - (b.expires_at ?? Infinity) || a.created_at - b.created_at,
        )
        .map((g) => ({
          id: g.id,
          source: g.source as GrantSource,
          remaining: g.remaining,
          ...(g.expires_at === null ? {} : { expiresAt: new Date(g.expires_at).toISOString() }),
        })),
    };
  }

  /** After a committed change: push the outbox to D1 and set the next alarm. */
  private async afterChange(): Promise<void> {
    await this.flush();
    await this.scheduleAlarm();
  }

  /** Pushes unsynced entries and the grant mirror to D1; insert-or-ignore by id. */
  private flush(): Promise<void> {
    // Coalesce: one flush at a time; a change during it is picked up by the next.
    if (this.flushing) return this.flushing.then(() => this.flush());
    this.flushing = this.flushOnce()
      .catch((error: unknown) => {
        log("warn", "wallet.flush_failed", { walletId: this.walletId(), error: String(error) });
      })
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    const walletId = this.walletId();
    if (!walletId) return;
    for (;;) {
      const rows = this.sql
        .exec<EntryRow>("SELECT * FROM entries WHERE synced = 0 ORDER BY seq LIMIT ?", FLUSH_BATCH)
        .toArray();
      if (rows.length === 0) return;
      if (this.d1Down) throw new Error("D1 unavailable (injected)");
      const db = this.env.DB;
      const grantIds = [...new Set(rows.map((r) => r.grant_id).filter((id): id is string => id !== null))];
      const statements: D1PreparedStatement[] = [];
      if (rows.some((r) => r.seq === 1)) {
        statements.push(
          db
            .prepare("INSERT OR IGNORE INTO wallets (id, account_id, created_at) VALUES (?, ?, ?)")
            .bind(walletId, walletId, rows[0]?.created_at ?? Date.now()),
        );
      }
      for (const r of rows) {
        statements.push(
          db
            .prepare(
              `INSERT OR IGNORE INTO ledger_entries (id, wallet_id, seq, type, amount, balance_after,
                 grant_id, hold_id, reference, idempotency_key, description, feature, generation_id, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            )
            .bind(
              r.id,
              walletId,
              r.seq,
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
      for (const g of this.grantSnapshots(grantIds)) {
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
              g.unburned,
              g.priority,
              g.expires_at,
              g.reference,
              g.created_at,
            ),
        );
      }
      await db.batch(statements);
      const last = rows[rows.length - 1]?.seq ?? 0;
      this.sql.exec("UPDATE entries SET synced = 1 WHERE synced = 0 AND seq <= ?", last);
    }
  }

  /** A grant's tokens not yet burned: its remainder plus what open holds took from it. */
  private grantSnapshots(ids: string[]) {
    if (ids.length === 0) return [];
    const heldBy = new Map<string, number>();
    for (const h of this.sql.exec<HoldRow>("SELECT * FROM holds WHERE status = 'open'")) {
      for (const a of JSON.parse(h.allocations) as Allocation[]) {
        heldBy.set(a.grantId, (heldBy.get(a.grantId) ?? 0) + a.amount);
      }
    }
    return this.sql
      .exec<GrantRow>(`SELECT * FROM grants WHERE id IN (${ids.map(() => "?").join(",")})`, ...ids)
      .toArray()
      .map((g) => ({ ...g, unburned: g.remaining + (heldBy.get(g.id) ?? 0) }));
  }

  /** Delivers pending transfer credits; each is an idempotent grant on the target. */
  private async deliverCredits(): Promise<void> {
    const pending = this.sql
      .exec<{ key: string; to_wallet: string; amount: number; description: string; reference: string }>(
        "SELECT * FROM credits",
      )
      .toArray();
    for (const c of pending) {
      try {
        const target = this.env.WALLET.get(this.env.WALLET.idFromName(c.to_wallet));
        const r = await target.grant({
          walletId: c.to_wallet,
          key: `transfer:${c.key}`,
          source: "transfer",
          type: "transfer_in",
          amount: c.amount,
          description: c.description,
          reference: c.reference,
        });
        if (r.ok) this.sql.exec("DELETE FROM credits WHERE key = ?", c.key);
      } catch (error) {
        log("warn", "wallet.credit_failed", { walletId: this.walletId(), key: c.key, error: String(error) });
      }
    }
  }

  /** The next moment something is due: a hold deadline, a grant expiry, or a retry. */
  private async scheduleAlarm(): Promise<void> {
    const now = Date.now();
    const next = this.sql
      .exec<{ t: number | null }>(
        `SELECT min(t) AS t FROM (
           SELECT min(deadline) AS t FROM holds WHERE status = 'open'
           UNION ALL SELECT min(expires_at) FROM grants WHERE expires_at IS NOT NULL AND remaining > 0
         )`,
      )
      .one().t;
    const retry =
      this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM entries WHERE synced = 0").one().n > 0 ||
      this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM credits").one().n > 0;
    const candidates = [next, retry ? now + RETRY_MS : null].filter((t): t is number => t !== null);
    if (candidates.length === 0) return;
    const when = Math.min(...candidates);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > when || current < now) await this.ctx.storage.setAlarm(when);
  }

  private toEntry(r: EntryRow): LedgerEntry {
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
}

function isFailure(x: HoldRow | WalletFailure): x is WalletFailure {
  return x.ok === false;
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
