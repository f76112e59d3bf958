// The wallet object's RPC surface: each public method binds the object to its
// wallet id, then hands the call to the module of its group: money.ts (grant
// to transfer), generations.ts (a generation's admit and finish, whose
// transactions are in admission.ts), access.ts (who may spend), reads.ts,
// content.ts (the account's generations), upkeep.ts (sweep, audit). A change's
// transaction and aftermath live in changes.ts, its storage work in book.ts,
// D1 in outbox.ts, timing in alarm.ts.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { setLogLevel } from "../lib/log";
import { Access } from "./access";
import { Alarm } from "./alarm";
import { Book } from "./book";
import { Changes } from "./changes";
import * as content from "./content";
import { Faults, type WalletFaults } from "./faults";
import * as generations from "./generations";
import * as money from "./money";
import { Outbox } from "./outbox";
import * as reads from "./reads";
import type { GenerationRecord, PortableRecord } from "./records";
import * as schemas from "./schemas";
import { check } from "./schemas";
import { SCHEMA } from "./storage";
import type {
  AdjustArgs,
  AdjustResult,
  AdmitArgs,
  AdmitResult,
  AuthorizeArgs,
  AuthorizeResult,
  ChargeConfirmation,
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
import * as upkeep from "./upkeep";

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
    // An object wakes many times (the runtime evicts idle ones): only an old
    // schema is written to, so a wake that only reads commits nothing.
    const version = Number(this.book.meta("schema_version") ?? 0);
    if (version < SCHEMA.length) {
      ctx.storage.transactionSync(() => {
        for (let v = version; v < SCHEMA.length; v++) sql.exec(SCHEMA[v] as string);
        this.book.setMeta("schema_version", String(SCHEMA.length));
      });
    }
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

  // ── RPC: money (bodies in money.ts) ───────────────────────────────────

  /** Adds tokens as a grant (free, welcome, purchase, promo, allowance, transfer…). */
  async grant(args: GrantArgs): Promise<GrantResult> {
    this.enter(args.walletId);
    return money.grant(this.changes, args);
  }

  /** Holds `amount` tokens until `ttlMs` from now, within the balance and any member's limit. */
  async reserve(args: ReserveArgs): Promise<ReserveResult> {
    this.enter(args.walletId);
    return money.reserve(this.changes, this.access, args);
  }

  /** Burns `amount` (≤ held) of a hold and releases the rest. */
  async settle(args: SettleArgs): Promise<SettleResult> {
    this.enter(args.walletId);
    return money.settle(this.changes, args);
  }

  /** Releases a whole hold: nothing is charged. */
  async void(args: { walletId: string; holdId: string }): Promise<VoidResult> {
    this.enter(args.walletId);
    return money.voidHold(this.changes, args);
  }

  /** Takes tokens out: refunds, chargebacks; with `owe`, what holds keep is left as a debt. */
  async debit(args: DebitArgs): Promise<DebitResult> {
    this.enter(args.walletId);
    return money.debit(this.changes, args);
  }

  /** An admin adjustment: a grant, or a take that never goes below zero. */
  async adjust(args: AdjustArgs): Promise<AdjustResult> {
    this.enter(args.walletId);
    return money.adjust(this.changes, args);
  }

  /** Moves every available token to another wallet, exactly once per key. */
  async transfer(args: TransferArgs): Promise<TransferResult> {
    this.enter(args.walletId);
    return money.transfer(this.changes, args);
  }

  // ── RPC: a generation's admission and end (bodies in generations.ts) ───

  /** Every check of a generation and its hold in one transaction: the one round trip before the model. */
  async admit(args: AdmitArgs): Promise<AdmitResult> {
    this.enter(args.walletId);
    return generations.admit(this.changes, this.access, args);
  }

  /** Settles or voids a generation's hold and completes its record; a retry answers the first call. */
  async finish(args: FinishArgs): Promise<FinishResult> {
    this.enter(args.walletId);
    return generations.finish(this.changes, args);
  }

  /** Undoes an admission the team's side refused: the record goes, its hold (if any) is released. */
  async withdraw(args: { walletId: string; generationId: string }): Promise<{ tokens: Tokens }> {
    this.enter(args.walletId);
    return generations.withdraw(this.changes, args);
  }

  /** A charge the cron confirmed from the ledger (cron.ts): the record takes what D1 now says. */
  async confirmed(args: ChargeConfirmation & { walletId: string }): Promise<void> {
    this.enter(args.walletId);
    generations.confirmed(this.changes, args);
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

  // ── RPC: reads (bodies in reads.ts) ───────────────────────────────────

  /** The balance as callers see it, the expiries due written first. */
  async balance(args: { walletId: string }): Promise<Tokens> {
    this.enter(args.walletId);
    return reads.balance(this.changes);
  }

  /** The wallet's own copy of its ledger, newest first. */
  async history(args: { walletId: string; limit?: number; before?: number }): Promise<LedgerEntry[]> {
    this.enter(args.walletId);
    return reads.history(this.changes, args);
  }

  /** The debts left by debits under these keys (keys without one are left out). */
  async debts(args: { walletId: string; keys: string[] }): Promise<DebtView[]> {
    this.enter(args.walletId);
    return reads.debts(this.changes, args);
  }

  /** Each member's spend and open holds this UTC month (team wallets; decision 010). */
  async memberSpend(args: MemberSpendArgs): Promise<MemberSpend> {
    this.enter(args.walletId);
    return reads.memberSpend(this.changes, args);
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

  // ── RPC: upkeep (bodies in upkeep.ts) ─────────────────────────────────

  /** Releases what is overdue, delivers credits, flushes the outbox; the alarm calls it, so may anyone. */
  async sweep(): Promise<{ voided: number; expired: number; unsynced: number; pendingCredits: number }> {
    return upkeep.sweep(this.changes, this.access);
  }

  override async alarm(): Promise<void> {
    this.alarms.spent();
    if (this.boundId === null) return;
    // An injected outage: try again later, as after a real failure.
    if (this.faults.unavailable) return this.alarms.retryLater();
    await this.sweep();
  }

  /** A consistent snapshot for reconcile (reconcile.ts): the outbox flushed, then one read. */
  async audit(args: { check?: { seq: number; id: string }[] } = {}): Promise<WalletAudit> {
    return upkeep.audit(this.changes, args);
  }

  async stats(): Promise<WalletStats> {
    return this.outbox.stats();
  }

  /** Test hook (faults.ts): D1 down or losing acks, object unreachable, answers lost, a shifted clock. */
  async setFaults(faults: WalletFaults): Promise<void> {
    this.faults.set(faults);
  }

  // ── binding ────────────────────────────────────────────────────────────

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
