// The storage work every money operation shares (grants, holds, entries, debts),
// always inside the caller's transaction; one class so each step sees the same
// state without a round trip.
import type { LedgerType } from "../db/schema/ledger";
import { entryIdFor } from "../lib/entries";
import { newId } from "../lib/ids";
import { type DebtRow, payDebts } from "./debts";
import { fail } from "./failures";
import type { HoldRecord } from "./idempotency";
import {
  type Allocation,
  allocate,
  availableOf,
  burnOrder,
  expiredGrants,
  type GrantSource,
  isLive,
  priorityOf,
  splitSettlement,
} from "./ledger";
import { recordSpend } from "./members";
import { queueCredit } from "./outbox";
import { type GrantRow, type GrantView, grantView, type HoldRow } from "./storage";
import type {
  CarriedGeneration,
  DebitArgs,
  GrantArgs,
  ReserveArgs,
  SettleArgs,
  Tokens,
  WalletFailure,
} from "./types";

/** How a hold ended, when it ends. */
export type HoldEnd = "settled" | "voided" | "expired";

/**
 * The wallet's books: the synchronous reads and writes of its grants, holds
 * and entries. Every write runs inside the caller's storage transaction
 * (Changes.run), so a change is all or nothing; none of it awaits.
 */
export class Book {
  /** Entries appended by this instance: the outbox compares it to know whether more came. */
  appended = 0;
  /** Grants added by this instance: the outbox reads dirty grants for new ones only when it changed. */
  grantsAdded = 0;
  /** Expiry entries written by this instance (sweep reports the difference). */
  expiries = 0;
  /** The seq of the last entry appended by this instance (unknown after a restart). */
  lastSeq: number | undefined;
  /** Whether the credits outbox may hold something (unknown after a restart). */
  creditsMaybe = true;
  /**
   * Whether an open debt may exist (unknown after a restart): most wallets
   * never owe, and then a hold's release skips reading the debts.
   */
  debtsMaybe = true;
  /**
   * A lower bound on when a grant holding tokens expires (null: none does;
   * undefined: unknown), learnt from the last balance read: until then a
   * hold's end has no expiry to write and skips reading the grants for one.
   */
  nextExpiry: number | null | undefined;

  constructor(
    readonly sql: SqlStorage,
    readonly walletId: () => string | null,
    private readonly clock: () => number,
  ) {}

  addGrant(
    g: Pick<GrantArgs, "key" | "source" | "type" | "amount" | "expiresAt" | "description" | "reference">,
    now: number,
  ): string {
    const grantId = newId("grt");
    this.grantsAdded++;
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
    if (g.expiresAt != null) this.nextExpiry = undefined;
    // A grant that arrives already expired (a late transfer credit) expires at once.
    this.expireDue(now);
    return grantId;
  }

  /**
   * Ends an open hold: burns `burned` of it and gives the rest back to the
   * grants it came from; writes the usage entry (naming the member, and
   * counting toward their month) when something is burned. A settle's
   * idempotency record (`record`) is written with the hold's new status.
   */
  endHold(
    hold: HoldRow,
    burned: number,
    status: HoldEnd,
    now: number,
    meta?: Pick<SettleArgs, "description" | "feature" | "generationId" | "reference" | "generation">,
    record?: HoldRecord,
  ): string | null {
    const { burn, release } = splitSettlement(JSON.parse(hold.allocations) as Allocation[], burned);
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
    const entryId =
      burned === 0
        ? null
        : this.append({
            // A generation's entry shares its id's rest, so D1 need not store it (lib/entries.ts).
            id: meta?.generationId ? entryIdFor(meta.generationId) : undefined,
            type: "usage",
            amount: -burned,
            grantId: burn.length === 1 ? (burn[0]?.grantId ?? null) : null,
            holdId: hold.id,
            reference: meta?.reference ?? hold.reference,
            idempotencyKey: `settle:${hold.id}`,
            description: meta?.description ?? "Usage",
            feature: meta?.feature ?? null,
            generationId: meta?.generationId ?? null,
            memberId: hold.member_id,
            generation: meta?.generation,
          });
    if (record) {
      this.sql.exec(
        "UPDATE holds SET status = ?, settle_fingerprint = ?, settle_result = ? WHERE id = ?",
        status,
        record.fingerprint,
        record.result?.(entryId) ?? null,
        hold.id,
      );
    } else {
      this.sql.exec("UPDATE holds SET status = ? WHERE id = ?", status, hold.id);
    }
    if (hold.member_id !== null) recordSpend(this.sql, hold.member_id, burned, now);
    // Released tokens of a grant that expired meanwhile expire now.
    if (this.nextExpiry === undefined || (this.nextExpiry !== null && this.nextExpiry <= now)) {
      this.expireDue(now);
    }
    // Open debts on these grants are paid before anything can spend (or forward) what came back.
    let rest = release;
    if (this.debtsMaybe) {
      rest = payDebts(this.sql, hold.id, release, (debt, key, parts) => this.payDebt(debt, key, parts));
      this.debtsMaybe = this.count("SELECT EXISTS (SELECT 1 FROM debts WHERE open = 1) AS n") > 0;
    }
    this.forwardReleased(hold.id, rest, now);
    return entryId;
  }

  /** One payment of a debt: takes `parts` from their grants in one entry of the debt's type. */
  private payDebt(debt: DebtRow, key: string, parts: Allocation[]): void {
    for (const p of parts) {
      this.sql.exec(
        "UPDATE grants SET remaining = remaining - ?1, mirror_dirty = mirror_dirty + 1 WHERE id = ?2",
        p.amount,
        p.grantId,
      );
    }
    this.append({
      type: debt.type as LedgerType,
      amount: -parts.reduce((n, p) => n + p.amount, 0),
      grantId: parts.length === 1 ? (parts[0]?.grantId ?? null) : null,
      reference: debt.reference,
      idempotencyKey: key,
      description: debt.description,
    });
  }

  /**
   * Opens a hold on `allocations` (already checked to fit), taking them from
   * the grants' spendable remainders. A reserve's idempotency record (its key
   * and `record`) is the hold row itself: its answer is the hold.
   */
  placeHold(
    a: Pick<ReserveArgs, "amount" | "ttlMs" | "reference" | "member"> & { id?: string; key?: string },
    allocations: Allocation[],
    now: number,
    record?: HoldRecord,
  ): { holdId: string; deadline: number } {
    for (const x of allocations) {
      this.sql.exec(
        "UPDATE grants SET remaining = remaining - ?1, held = held + ?1 WHERE id = ?2",
        x.amount,
        x.grantId,
      );
    }
    const holdId = a.id ?? newId("hld");
    const deadline = now + a.ttlMs;
    this.sql.exec(
      `INSERT INTO holds (id, amount, allocations, deadline, status, reference, created_at, member_id,
         reserve_key, reserve_fingerprint)
       VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)`,
      holdId,
      a.amount,
      JSON.stringify(allocations),
      deadline,
      a.reference ?? null,
      now,
      a.member?.accountId ?? null,
      record ? (a.key ?? null) : null,
      record?.fingerprint ?? null,
    );
    return { holdId, deadline };
  }

  /**
   * The sweep's work: releases holds past their deadline (status `expired`),
   * expires grants, and forgets short-lived records and ended holds older than
   * `keepMs`. Returns the ids of the holds it released.
   */
  endOverdue(now: number, keepMs: number): string[] {
    const overdue = this.sql
      .exec<HoldRow>("SELECT * FROM holds WHERE status = 'open' AND deadline <= ?", now)
      .toArray();
    for (const hold of overdue) this.endHold(hold, 0, "expired", now);
    this.expireDue(now);
    const old = now - keepMs;
    this.sql.exec(
      // Reserve and settle records go with their hold (storage.ts v11).
      "DELETE FROM ops WHERE created_at < ? AND key LIKE 'void:%'",
      old,
    );
    this.sql.exec("DELETE FROM holds WHERE status <> 'open' AND created_at < ?", old);
    return overdue.map((h) => h.id);
  }

  /**
   * After a transfer (sign-in), tokens a hold gives back belong to the wallet
   * this one was transferred to: they leave here as a `transfer_out` and
   * arrive there as a grant through the credits outbox. Keyed by the hold,
   * which ends once, so they move once.
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
    if (taken && taken.amount > 0) queueCredit(this, key, to, description, grants, taken.allocations, now);
  }

  /**
   * Takes tokens from live grants in burn order and writes one entry.
   * Returns what was taken, or null when all-or-nothing could not be met.
   */
  take(
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
   * `liveGrants` would read next, without reading again). `read`: the grants
   * with spendable tokens as the same transaction already read them.
   */
  expireDue(now: number, read?: GrantView[]): GrantView[] {
    const grants = read ?? this.grantsWithTokens();
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
    id?: string;
    type: LedgerType;
    amount: number;
    grantId?: string | null;
    holdId?: string | null;
    reference: string | null;
    idempotencyKey: string | null;
    description: string;
    feature?: string | null;
    generationId?: string | null;
    memberId?: string | null;
    generation?: CarriedGeneration;
  }): string {
    const id = e.id ?? newId("txn");
    // balance_after: tokens the wallet owns, Σ remaining + held over its grants.
    this.lastSeq = this.sql
      .exec<{ seq: number }>(
        `INSERT INTO entries (id, type, amount, balance_after, grant_id, hold_id, reference,
           idempotency_key, description, feature, generation_id, member_id, created_at, generation)
         VALUES (?, ?, ?, (SELECT coalesce(sum(remaining + held), 0) FROM grants), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
        e.memberId ?? null,
        this.clock(),
        e.generation ? JSON.stringify(e.generation) : null,
      )
      .one().seq;
    // `totals` (used, purchased) follows from the entry by trigger (storage.ts, v9).
    this.appended++;
    return id;
  }

  // ── reads ──────────────────────────────────────────────────────────────

  /** Tokens the wallet owns: unburned grant remainders plus open holds. */
  balanceNow(): number {
    return this.count("SELECT coalesce(sum(remaining + held), 0) AS n FROM grants");
  }

  private grantsWithTokens(): GrantView[] {
    return this.sql.exec<GrantRow>("SELECT * FROM grants WHERE remaining > 0").toArray().map(grantView);
  }

  /** Grants with spendable tokens that have not expired, in burn order. */
  liveGrants(now: number): GrantView[] {
    return this.grantsWithTokens()
      .filter((g) => isLive(g, now))
      .sort(burnOrder);
  }

  hold(holdId: string): HoldRow | WalletFailure {
    return (
      this.sql.exec<HoldRow>("SELECT * FROM holds WHERE id = ?", holdId).toArray()[0] ??
      fail("hold_not_found", "No such hold.")
    );
  }

  /**
   * The balance as callers see it, in one read whatever the number of grants
   * (each statement costs the object more than its rows do). With `check`,
   * inside a change's transaction: a grant driven negative by a bug throws,
   * which rolls the whole change back (defence in depth).
   */
  tokens(check = false): Tokens {
    const now = this.clock();
    const rows = this.sql
      .exec<GrantRow & { used: number; purchased: number }>(
        `SELECT t.used, t.purchased, g.* FROM totals t
           LEFT JOIN grants g ON g.remaining <> 0 OR g.held <> 0`,
      )
      .toArray();
    const totals = rows[0] ?? { used: 0, purchased: 0 };
    const owned = rows.filter((g) => g.id !== null).map(grantView);
    if (check && owned.some((g) => g.remaining < 0 || g.held < 0)) {
      throw new Error("wallet invariant violated: negative grant");
    }
    this.nextExpiry = owned.reduce<number | null>(
      (min, g) => (g.expires_at === null || (min !== null && min <= g.expires_at) ? min : g.expires_at),
      null,
    );
    const live = owned.filter((g) => isLive(g, now)).sort(burnOrder);
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

  count(query: string): number {
    return this.sql.exec<{ n: number }>(query).one().n;
  }

  meta(k: string): string | null {
    return this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", k).toArray()[0]?.v ?? null;
  }

  setMeta(k: string, v: string) {
    this.sql.exec("INSERT INTO meta VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", k, v);
  }
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
