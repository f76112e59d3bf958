// The wallet object's RPC surface: each public method is one money operation
// (validate, run its effect in one transaction, answer) or one push of who may
// spend, so the file is as long as the list of operations; the transaction and
// its aftermath live in changes.ts, the effects' storage work in book.ts, who
// may spend in access.ts, a generation's admission and end in admission.ts, D1
// in outbox.ts, timing in alarm.ts.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { setLogLevel } from "../lib/log";
import { Access } from "./access";
import * as admission from "./admission";
import { Alarm } from "./alarm";
import { Book } from "./book";
import { Changes } from "./changes";
import * as content from "./content";
import { type DebtRow, debtView, heldIn, recordDebt } from "./debts";
import { fail, holdExpired, insufficient, isFailure } from "./failures";
import { Faults, type WalletFaults } from "./faults";
import { reserved } from "./idempotency";
import { allocate, availableOf } from "./ledger";
import { checkLimit, memberSpend } from "./members";
import { Outbox, queueCredit } from "./outbox";
import { type GenerationRecord, interruptRecords, type PortableRecord } from "./records";
import * as schemas from "./schemas";
import { AMOUNT_MESSAGES, check } from "./schemas";
import { type EntryRow, SCHEMA, toEntry, UNSYNCED } from "./storage";
import type {
  AdjustArgs,
  AdjustResult,
  AdmitArgs,
  AdmitResult,
  AuthorizeArgs,
  AuthorizeResult,
  DebitArgs,
  DebitResult,
  DebtView,
  FinishArgs,
  FinishResult,
  GrantArgs,
  GrantResult,
  LedgerEntry,
  MemberSpend,
  MemberSpendArgs,
  OwnerStateArgs,
  ReserveArgs,
  ReserveResult,
  SessionOpenedArgs,
  SessionRenewedArgs,
  SessionRevokedArgs,
  SetMemberArgs,
  SettleArgs,
  SettleResult,
  Tokens,
  TransferArgs,
  TransferResult,
  VoidResult,
  WalletAudit,
  WalletStats,
} from "./types";

/**
 * Records of reserve/settle/void and closed holds are dropped after this long:
 * a generation retried later than that is a new generation (its D1 row keeps
 * the request's own idempotency). Grant, debit, adjust and transfer records
 * are kept forever: they guard money coming in and going out.
 */
const SHORT_LIVED_OPS_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * One wallet: the only place a balance changes (docs/architecture.md, "The wallet";
 * docs/decisions/001-wallet.md). A team's shared wallet is one too, addressed
 * by the team id, with per-member monthly limits (docs/decisions/010).
 *
 * Every change runs as one synchronous SQLite transaction in the object's own
 * storage — check, effect, idempotency record and ledger entry together — so
 * no interleaving of requests can double-spend, and a crash keeps all or none.
 * Entries then reach D1 through an outbox (outbox.ts) flushed right after the
 * change and retried by the alarm until D1 has them.
 */
export class Wallet extends DurableObject<Env> {
  private readonly faults = new Faults();
  private readonly book: Book;
  private readonly outbox: Outbox;
  private boundId: string | null;
  private readonly alarms: Alarm;
  /** Who may spend: sessions, the owner's state, a team's members (access.ts). */
  readonly access: Access;
  /** How a call changes the books: one transaction, then its aftermath (changes.ts). */
  private readonly changes: Changes;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    setLogLevel(env.LOG_LEVEL);
    const sql = ctx.storage.sql;
    this.book = new Book(
      sql,
      () => this.boundId,
      () => this.faults.now(),
    );
    // The outbox sets its retry through the alarm, which reads the outbox's grant mirror.
    this.outbox = new Outbox(
      ctx,
      env,
      this.book,
      this.faults,
      () => this.boundId,
      () => this.alarms.retrySoon(),
    );
    this.alarms = new Alarm(ctx, this.book, this.faults, this.outbox.grants);
    sql.exec("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
    ctx.storage.transactionSync(() => {
      const version = Number(this.book.meta("schema_version") ?? 0);
      for (let v = version; v < SCHEMA.length; v++) sql.exec(SCHEMA[v] as string);
      this.book.setMeta("schema_version", String(SCHEMA.length));
    });
    this.boundId = this.book.meta("wallet_id");
    this.access = new Access(
      sql,
      env.DB,
      (fn) => ctx.storage.transactionSync(fn),
      () => this.boundId,
      { get: (k) => this.book.meta(k), set: (k, v) => this.book.setMeta(k, v) },
    );
    this.changes = new Changes(ctx, this.book, this.outbox, this.alarms, this.faults);
  }

  // ── RPC: changes ───────────────────────────────────────────────────────

  /** Adds tokens as a grant (free, welcome, purchase, promo, allowance, transfer…). */
  async grant(args: GrantArgs): Promise<GrantResult> {
    this.enter(args.walletId);
    const bad = check(schemas.grantArgs, args, AMOUNT_MESSAGES.grant);
    if (bad) return this.changes.refuse(bad);
    return this.changes.change(`grant:${args.key}`, args, (now) => ({
      ok: true as const,
      grantId: this.book.addGrant(args, now),
    }));
  }

  /**
   * Holds `amount` tokens until `ttlMs` from now. The check and the
   * reservation are one transaction: whatever the concurrency, the sum of
   * holds never exceeds what the grants had, nor a member's holds and spend
   * their monthly limit.
   */
  async reserve(args: ReserveArgs): Promise<ReserveResult> {
    this.enter(args.walletId);
    const bad = check(schemas.reserveArgs, args, AMOUNT_MESSAGES.reserve);
    if (bad) return this.changes.refuse(bad);
    // The limit is the caller's policy at the time, not part of what was asked:
    // a retry after the limit changed replays the first answer.
    const asked = { ...args, member: args.member?.accountId };
    const own = args.member?.monthlyLimit === undefined ? args.member?.accountId : undefined;
    await Promise.all([
      own ? this.access.ensureMembers(own) : null,
      args.plans ? this.access.ensureOwner() : null,
    ]);
    return this.changes.change(
      `reserve:${args.key}`,
      asked,
      (now, _, record, read) => {
        // A team generation: the feature must be in the paying team's plan.
        if (args.plans && !args.plans.includes(this.access.plan() ?? "")) {
          return {
            ...fail("feature_not_in_plan", "The plan does not include this feature."),
            plans: args.plans,
          };
        }
        // Without a limit from the caller, this wallet's own members decide (access.ts).
        const member = own
          ? this.access.memberArgs(own)
          : args.member && {
              accountId: args.member.accountId,
              monthlyLimit: args.member.monthlyLimit ?? null,
            };
        if (member && "ok" in member) return member;
        const overLimit = member ? checkLimit(this.book.sql, member, args.amount, now) : null;
        if (overLimit) return overLimit;
        // The grants came with the look-up of the key; nothing since changed them.
        const grants = this.book.expireDue(now, read);
        const allocations = allocate(grants, args.amount, now);
        if (!allocations) return insufficient(args.amount, availableOf(grants, now));
        const { holdId, deadline } = this.book.placeHold(args, allocations, now, record);
        return reserved(holdId, args.amount, deadline);
      },
      (o) => (o.ok ? Date.parse(o.deadline) : null),
      { in: "reserve", key: args.key },
    );
  }

  /**
   * Burns `amount` (≤ held) of a hold and releases the rest. Refused once the
   * deadline has passed (the hold is released then, as the alarm would).
   * Settling again with the same arguments returns the first result.
   */
  async settle(args: SettleArgs): Promise<SettleResult> {
    this.enter(args.walletId);
    const bad = check(schemas.settleArgs, args, AMOUNT_MESSAGES.settle);
    if (bad) return this.changes.refuse(bad);
    return this.changes.change(
      `settle:${args.holdId}`,
      args,
      (now, hold, record) => {
        if (isFailure(hold)) return hold;
        if (hold.status === "expired") return holdExpired();
        if (hold.status !== "open") return fail("hold_closed", `The hold was already ${hold.status}.`);
        if (args.amount > hold.amount) {
          return fail("invalid_amount", `A settlement must be between 0 and the held ${hold.amount} tokens.`);
        }
        if (hold.deadline <= now) {
          this.book.endHold(hold, 0, "expired", now);
          return holdExpired();
        }
        const answer = (entryId: string | null) => ({ ok: true as const, charged: args.amount, entryId });
        const result = (entryId: string | null) => JSON.stringify(answer(entryId));
        return answer(this.book.endHold(hold, args.amount, "settled", now, args, { ...record, result }));
      },
      // Ending a hold brings nothing due sooner (its deadline goes) but the
      // refresh of the grant mirror it dirtied (mirror.ts).
      () => this.alarms.mirrorAt(),
      { in: "settle", holdId: args.holdId },
    );
  }

  /** Releases a whole hold: nothing is charged. Voiding a closed hold changes nothing. */
  async void(args: { walletId: string; holdId: string }): Promise<VoidResult> {
    this.enter(args.walletId);
    const bad = check(schemas.voidArgs, args);
    if (bad) return this.changes.refuse(bad);
    return this.changes.change(
      `void:${args.holdId}`,
      args,
      (now, hold) => {
        if (isFailure(hold)) return hold;
        if (hold.status !== "open") return { ok: true as const, status: hold.status };
        this.book.endHold(hold, 0, "voided", now);
        return { ok: true as const, status: "voided" as const };
      },
      undefined,
      { in: "ops", holdId: args.holdId },
    );
  }

  /**
   * Takes tokens out: refunds, chargebacks. With `partial`, takes what is
   * there up to `amount` (never below zero); otherwise all or nothing.
   * `grantIds` limits it to those grants (a refund claws back only what is
   * left of its purchase). Held tokens are not taken: they are spoken for;
   * with `owe`, up to what those grants hold is left as a debt that the holds
   * pay as they release it (debts.ts). A retry replays: one debt per key.
   */
  async debit(args: DebitArgs): Promise<DebitResult> {
    this.enter(args.walletId);
    const bad = check(schemas.debitArgs, args, AMOUNT_MESSAGES.debit);
    if (bad) return this.changes.refuse(bad);
    return this.changes.change(`debit:${args.key}`, args, (now) => {
      this.book.expireDue(now);
      const taken = this.book.take(args, now);
      if (taken === null) return insufficient(args.amount, availableOf(this.book.liveGrants(now), now));
      let owed = 0;
      if (args.owe && args.partial && taken.amount < args.amount) {
        const grantIds =
          args.grantIds ??
          this.book.sql
            .exec<{ id: string }>("SELECT id FROM grants")
            .toArray()
            .map((g) => g.id);
        owed = Math.min(args.amount - taken.amount, heldIn(this.book.sql, grantIds));
        recordDebt(this.book.sql, { ...args, grantIds, amount: owed }, now);
        this.book.debtsMaybe = true;
      }
      return { ok: true as const, debited: taken.amount, owed };
    });
  }

  /**
   * An admin adjustment under one idempotency key: a positive amount is an
   * `adjustment` grant; a negative one takes what is there up to it, so the
   * balance never goes below zero.
   */
  async adjust(args: AdjustArgs): Promise<AdjustResult> {
    this.enter(args.walletId);
    const bad = check(schemas.adjustArgs, args, AMOUNT_MESSAGES.adjust);
    if (bad) return this.changes.refuse(bad);
    return this.changes.change(`adjust:${args.key}`, args, (now) => {
      const base = { key: args.key, description: args.reason, reference: args.key };
      if (args.amount > 0) {
        this.book.addGrant({ ...base, source: "adjustment", type: "adjustment", amount: args.amount }, now);
        return { ok: true as const, adjusted: args.amount };
      }
      this.book.expireDue(now);
      const taken = this.book.take({ ...base, amount: -args.amount, type: "adjustment", partial: true }, now);
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
   * (void, a settle below the hold, expiry) follows there (Book.endHold).
   */
  async transfer(args: TransferArgs): Promise<TransferResult> {
    this.enter(args.walletId);
    const bad = check(schemas.transferArgs, args);
    if (bad) return this.changes.refuse(bad);
    const result = this.changes.run(`transfer:${args.key}`, args, (now) => {
      this.book.setMeta("forward_to", args.to);
      this.book.setMeta("forward_description", args.description);
      const grants = this.book.expireDue(now);
      const available = availableOf(grants, now);
      if (available === 0) return { ok: true as const, moved: 0 };
      const taken = this.book.take(
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
      queueCredit(this.book, args.key, args.to, args.description, grants, taken?.allocations ?? [], now);
      return { ok: true as const, moved: available };
    });
    // A change delivers its credit on the way out; a replay retries one still pending.
    if (!result.appended) await this.outbox.deliverCredits();
    return this.changes.reply(result.outcome, result.appended, result.tokens);
  }

  // ── RPC: a generation's admission and end (bodies in admission.ts) ─────

  /**
   * Every check of a generation and its hold in one transaction: session,
   * idempotency key, rate limit, plan, balance; the pending record with the
   * prompt. The one round trip before the model (docs/decisions/018).
   */
  async admit(args: AdmitArgs): Promise<AdmitResult> {
    this.enter(args.walletId);
    const bad = check(schemas.admitArgs, args);
    if (bad) return this.changes.refuse(bad);
    // Who asks, loaded from D1 only the first time this object sees them (access.ts).
    await this.access.ensureSession(args.session, this.faults.now());
    const before = this.book.appended;
    let tokens: Tokens | undefined;
    const outcome = this.changes.transaction(() => {
      const result = admission.admit(this.book, this.access, args, this.faults.now());
      // The balance the answer carries, read once; it also checks that no grant went negative.
      tokens = this.book.tokens(true);
      return result;
    });
    // Entries written here are grant expiries: D1 gets them after the answer, not before.
    if (this.book.appended !== before) void this.changes.afterChange().catch(() => undefined);
    else if (outcome.ok && outcome.admitted) await this.alarms.schedule();
    const sessionExpiresAt = this.access.sessionExpiry(args.session.id) ?? 0;
    return { ...outcome, tokens: tokens ?? this.book.tokens(), sessionExpiresAt };
  }

  /**
   * Settles or voids a generation's hold and completes its record; the
   * record's D1 row goes out in the outbox batch of the usage entry. A retry
   * answers what the first call recorded.
   */
  async finish(args: FinishArgs): Promise<FinishResult> {
    this.enter(args.walletId);
    const bad = check(schemas.finishArgs, args);
    if (bad) return this.changes.refuse(bad);
    let tokens: Tokens | undefined;
    const outcome = this.changes.transaction(() => {
      const result = admission.finish(this.book, args, this.faults.now());
      tokens = this.book.tokens(true);
      return result;
    });
    if (outcome.ok && !outcome.replayed) this.outbox.recordFinished();
    // As for settle: nothing comes due sooner but the refresh of the grant mirror.
    await this.changes.afterChange(this.alarms.mirrorAt());
    // The fault hook treats a generation's settle as the settle it is.
    if (outcome.ok && outcome.holdId) this.faults.maybeLoseAnswer(`settle:${outcome.holdId}`);
    return { ...outcome, tokens: tokens ?? this.book.tokens() };
  }

  /** Undoes an admission the team's side refused: the record goes, its hold (if any) is released. */
  async withdraw(args: { walletId: string; generationId: string }): Promise<{ tokens: Tokens }> {
    this.enter(args.walletId);
    const bad = check(schemas.withdrawArgs, args);
    if (bad) throw new Error(bad.message);
    const tokens = this.changes.transaction(() => {
      admission.withdraw(this.book, args.generationId, this.faults.now());
      return this.book.tokens(true);
    });
    return { tokens };
  }

  /** A charge the cron confirmed from the ledger (cron.ts): the record takes what D1 now says. */
  async confirmed(args: {
    walletId: string;
    generationId: string;
    charged: number;
    errorCode: string | null;
  }): Promise<void> {
    this.enter(args.walletId);
    const bad = check(schemas.confirmedArgs, args);
    if (bad) throw new Error(bad.message);
    admission.confirmed(this.book.sql, args);
  }

  // ── RPC: who may spend (access.ts, docs/decisions/017) ─────────────────
  // Pushes from the routes that change it: rights taken away are told here
  // first, then D1; rights given, D1 first, then here. Each is a set.

  /** May this session spend from its account's wallet now (loads what is missing from D1 once). */
  async authorize(args: AuthorizeArgs): Promise<AuthorizeResult> {
    this.enter(args.walletId);
    const bad = check(schemas.authorizeArgs, args);
    return bad ?? this.access.authorize(args.session, this.faults.now());
  }

  async sessionOpened(args: SessionOpenedArgs): Promise<void> {
    this.accessPush(args, schemas.sessionOpenedArgs);
    this.access.sessionOpened(args.session);
  }

  async sessionRevoked(args: SessionRevokedArgs): Promise<void> {
    this.accessPush(args, schemas.sessionRevokedArgs);
    this.access.sessionRevoked("all" in args ? null : args.sessionId, args.at);
  }

  async sessionRenewed(args: SessionRenewedArgs): Promise<void> {
    this.accessPush(args, schemas.sessionRenewedArgs);
    this.access.sessionRenewed(args.sessionId, args.expiresAt);
  }

  async setOwnerState(args: OwnerStateArgs): Promise<void> {
    this.accessPush(args, schemas.ownerStateArgs);
    await this.access.pushOwnerState(args, this.faults.now());
  }

  async setMember(args: SetMemberArgs): Promise<void> {
    this.accessPush(args, schemas.setMemberArgs);
    await this.access.pushMember(args, this.faults.now());
  }

  // ── RPC: reads and upkeep ──────────────────────────────────────────────

  async balance(args: { walletId: string }): Promise<Tokens> {
    this.enter(args.walletId);
    const before = this.book.appended;
    this.ctx.storage.transactionSync(() => this.book.expireDue(this.faults.now()));
    if (this.book.appended !== before) await this.changes.afterChange();
    return this.book.tokens();
  }

  /** The wallet's own copy of its ledger, newest first. */
  async history(args: { walletId: string; limit?: number; before?: number }): Promise<LedgerEntry[]> {
    this.enter(args.walletId);
    return this.book.sql
      .exec<EntryRow>(
        "SELECT * FROM entries WHERE seq < ? ORDER BY seq DESC LIMIT ?",
        args.before ?? Number.MAX_SAFE_INTEGER,
        Math.min(Math.max(args.limit ?? 50, 1), 500),
      )
      .toArray()
      .map(toEntry);
  }

  /** The debts left by debits under these keys (keys without one are left out). */
  async debts(args: { walletId: string; keys: string[] }): Promise<DebtView[]> {
    this.enter(args.walletId);
    const bad = check(schemas.debtsArgs, args);
    if (bad) throw new Error(bad.message);
    if (args.keys.length === 0) return [];
    return this.book.sql
      .exec<DebtRow>(
        `SELECT * FROM debts WHERE key IN (${args.keys.map(() => "?").join(", ")})`,
        ...args.keys,
      )
      .toArray()
      .map(debtView);
  }

  /** Each member's spend and open holds this UTC month (team wallets; decision 010). */
  async memberSpend(args: MemberSpendArgs): Promise<MemberSpend> {
    this.enter(args.walletId);
    const bad = check(schemas.memberSpendArgs, args);
    if (bad) throw new Error(bad.message);
    return memberSpend(this.book.sql, this.faults.now(), args.accountIds);
  }

  // ── RPC: the account's generations (content.ts, docs/decisions/018) ────

  /** The account's generations newest first, as far as `sessionFilter` may read them. */
  async listGenerations(args: content.ListArgs): Promise<content.ListResult> {
    this.enter(args.walletId);
    return content.listGenerations(this.book.sql, args.walletId, args);
  }

  /** One generation, or null when absent or not this session's to read. */
  async getGeneration(args: content.GetArgs): Promise<GenerationRecord | null> {
    this.enter(args.walletId);
    return content.getGeneration(this.book.sql, args.walletId, args);
  }

  /** Records that arrive from D1 (legacy rows) or another object (sign-in), idempotent by id. */
  async importGenerations(args: content.ImportArgs): Promise<content.ImportResult> {
    this.enter(args.walletId);
    const result = content.importGenerations(this.ctx.storage, args);
    // A record that arrives finished but not in D1 goes out with the next batch.
    if (result.ok) this.outbox.recordFinished();
    return result;
  }

  /** Records oldest first after `after`, as far as `session` may read them. */
  async exportGenerations(args: content.ExportArgs): Promise<PortableRecord[]> {
    this.enter(args.walletId);
    // So that D1's metadata rows of what is exported are there for the caller to update.
    await this.outbox.flush();
    return content.exportGenerations(this.book.sql, args);
  }

  /** Forgets finished records that another object now keeps (the sign-in move). */
  async removeGenerations(args: content.RemoveArgs): Promise<{ removed: number }> {
    this.enter(args.walletId);
    return content.removeGenerations(this.ctx.storage, args);
  }

  /**
   * Releases holds past their deadline, expires grants, forgets old
   * short-lived records, delivers pending credits and flushes the outbox.
   * The alarm calls it; so may anyone (it is idempotent).
   */
  async sweep(): Promise<{ voided: number; expired: number; unsynced: number; pendingCredits: number }> {
    this.faults.gate();
    const now = this.faults.now();
    const before = this.book.expiries;
    const voided = this.ctx.storage.transactionSync(() => {
      this.access.forgetExpired(now);
      const ended = this.book.endOverdue(now, SHORT_LIVED_OPS_MS);
      // A generation whose Worker died before `finish` ends with its hold: failed, charged nothing.
      interruptRecords(this.book.sql, ended, now);
      return ended.length;
    });
    await this.changes.afterChange();
    return {
      voided,
      expired: this.book.expiries - before,
      unsynced: this.book.count(`SELECT count(*) AS n FROM ${UNSYNCED}`),
      pendingCredits: this.book.count("SELECT count(*) AS n FROM credits"),
    };
  }

  override async alarm(): Promise<void> {
    this.alarms.spent();
    if (this.boundId === null) return;
    // An injected outage: try again later, as after a real failure.
    if (this.faults.unavailable) return this.alarms.retryLater();
    await this.sweep();
  }

  /**
   * A consistent snapshot for reconcile (worker/wallet/reconcile.ts): flushes
   * the outbox, then reads, with no await in between, the last entry's seq,
   * the balance at that point, the entries D1 may not have yet, and which of
   * `check` (D1 rows past the synced prefix) this wallet never wrote.
   */
  async audit(args: { check?: { seq: number; id: string }[] } = {}): Promise<WalletAudit> {
    this.faults.gate();
    await this.outbox.flush();
    return this.outbox.audit(args.check ?? []);
  }

  async stats(): Promise<WalletStats> {
    return this.outbox.stats();
  }

  /** Test hook (faults.ts): D1 down or losing acks, object unreachable, answers lost, a shifted clock. */
  async setFaults(faults: WalletFaults): Promise<void> {
    this.faults.set(faults);
  }

  /** Binds the wallet and checks a push's arguments: a bad one is a bug in the caller. */
  private accessPush(args: { walletId: string }, schema: Parameters<typeof check>[0]): void {
    this.enter(args.walletId);
    const bad = check(schema, args);
    if (bad) throw new Error(bad.message);
  }

  /** Checks the fault hook and remembers which wallet this object is. */
  private enter(walletId: string) {
    this.faults.gate();
    if (this.boundId === walletId) return;
    if (typeof walletId !== "string" || walletId.length === 0) throw new Error("walletId is required");
    if (this.boundId !== null) throw new Error(`wallet object ${this.boundId} addressed as ${walletId}`);
    // Object ids are hashes of the name; the alarm needs the name back.
    this.book.setMeta("wallet_id", walletId);
    this.boundId = walletId;
  }
}
