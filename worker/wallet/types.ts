import type { LedgerType } from "../db/schema/ledger";
import type { GrantSource } from "./ledger";
import type { GenerationRecord } from "./records";

/** The `tokens` object of docs/api.md (`GET /api/me`). */
export interface Tokens {
  /** Tokens that can be spent now. */
  available: number;
  /** Tokens reserved by generations in flight. */
  held: number;
  /** available + held: what the ledger sums to. */
  balance: number;
  /** Tokens burned by usage, ever. */
  used: number;
  /** Tokens bought, ever. */
  purchased: number;
  /** Live grants in burn order (what each has left to spend). */
  grants: { id: string; source: GrantSource; remaining: number; expiresAt?: string }[];
}

export type FailureCode =
  | "insufficient_tokens"
  | "idempotency_conflict"
  | "invalid_amount"
  | "invalid_request"
  | "hold_not_found"
  | "hold_closed"
  | "hold_expired"
  | "member_limit_reached"
  // Who may spend (access.ts): the session is unknown, revoked or expired; the
  // owner account is blocked, or merged into a user; not a member of the team.
  | "unauthorized"
  | "account_blocked"
  | "account_merged"
  | "not_a_member"
  | "rate_limited"
  | "feature_not_in_plan"
  // The admission carried a pricing revision older than one this wallet admitted at (admission.ts).
  | "pricing_stale";

export interface WalletFailure {
  ok: false;
  code: FailureCode;
  message: string;
  /** insufficient_tokens: what was asked and what is there. */
  required?: number;
  available?: number;
  /**
   * member_limit_reached: the member's monthly limit, what their settled holds
   * burned this month, what their open holds take, and when it resets (ISO).
   */
  limit?: number;
  spent?: number;
  held?: number;
  resetsAt?: string;
  /** rate_limited: how long until the next request would be allowed (ms). */
  retryAfterMs?: number;
  /** feature_not_in_plan: the plans that include the feature. */
  plans?: string[];
}

/** Every wallet answer carries the balance after it, success or not. */
export type WalletResult<T extends object> =
  | ({ ok: true; replayed?: boolean; tokens: Tokens } & T)
  | (WalletFailure & { tokens: Tokens });

export interface GrantArgs {
  walletId: string;
  /** Idempotency key: the same key grants once. */
  key: string;
  source: GrantSource;
  /** Ledger entry type; defaults from the source (free → grant, transfer → transfer_in). */
  type?: LedgerType;
  amount: number;
  /** Epoch ms; absent or null: never expires. */
  expiresAt?: number | null;
  description: string;
  reference?: string;
}

/** Who spends from a shared (team) wallet, and their monthly limit (null: no limit). */
export interface MemberArgs {
  accountId: string;
  monthlyLimit: number | null;
}

/**
 * A reserve's member. Without `monthlyLimit` the wallet takes the member and
 * their limit from its own members (access.ts) and refuses `not_a_member` if
 * absent; with it, the caller's limit applies (as before access.ts).
 */
export interface ReserveMember {
  accountId: string;
  monthlyLimit?: number | null;
}

/** A team member as the team's wallet knows them (access.ts). */
export interface AccessMember {
  role: string;
  monthlyLimit: number | null;
}

/** A session the account's wallet may be told about (sign-in, anonymous session). */
export interface SessionOpenedArgs {
  walletId: string;
  session: { id: string; kind: "user" | "anonymous"; resumed: boolean; expiresAt: number; createdAt: number };
}

/** One session revoked, or (`all`) every session of the account opened up to `at` (epoch ms). */
export type SessionRevokedArgs =
  | { walletId: string; sessionId: string; at: number }
  | { walletId: string; all: true; at: number };

export interface SessionRenewedArgs {
  walletId: string;
  sessionId: string;
  expiresAt: number;
}

/** What changed about the wallet's owner; absent fields are kept. */
export interface OwnerStateArgs {
  walletId: string;
  status?: "active" | "blocked";
  merged?: boolean;
  plan?: string | null;
}

export type SetMemberArgs =
  | { walletId: string; accountId: string; role: string; monthlyLimit: number | null }
  | { walletId: string; accountId: string; removed: true };

export interface AuthorizeArgs {
  walletId: string;
  session: { id: string; accountId: string };
}

/** May this session spend from its account's wallet now; when it expires; the account's plan. */
export type AuthorizeResult = { ok: true; expiresAt: number; plan: string | null } | WalletFailure;

export interface ReserveArgs {
  walletId: string;
  key: string;
  amount: number;
  /** The hold is released by the alarm this long after it was made (1 s … 24 h). */
  ttlMs: number;
  reference?: string;
  /**
   * A team member's spend: their monthly limit is checked in the same
   * transaction as the balance (docs/decisions/010-teams-wallet.md).
   */
  member?: ReserveMember;
  /**
   * A team generation's feature, when limited to plans: refused with
   * `feature_not_in_plan` unless this wallet's plan is one of them.
   */
  plans?: string[] | null;
  /**
   * The generation the hold is for: the hold is named after it (`hld_` and the
   * generation id's rest), so D1 need not store the id (docs/decisions/021).
   * A generation has one hold: a second reserve for it is refused.
   */
  generationId?: string;
}

export interface MemberSpendArgs {
  walletId: string;
  /** Only these members; absent: every member with activity this month. */
  accountIds?: string[];
}

/** A member's month on a shared wallet; members with no activity may be missing (treat as 0). */
export interface MemberSpend {
  /** Start of the current UTC calendar month (ISO). */
  periodStart: string;
  /** Start of the next one: when limits reset (ISO). */
  resetsAt: string;
  members: { accountId: string; spent: number; held: number }[];
}

export interface SettleArgs {
  walletId: string;
  holdId: string;
  /** What is charged: 0 ≤ amount ≤ held. */
  amount: number;
  description: string;
  feature?: string;
  generationId?: string;
  reference?: string;
  /**
   * A team generation's columns D1 reads (docs/decisions/025): the usage
   * entry then carries the generation, and the member's record is not sent.
   */
  generation?: CarriedGeneration;
}

/** A charge nobody heard, confirmed: what the generation's record takes (the cron, or the team's entry). */
export interface ChargeConfirmation {
  generationId: string;
  charged: number;
  errorCode: string | null;
}

/** What D1 keeps of a team's charged generation, on the team's usage entry. */
export interface CarriedGeneration {
  /** The member whose generation it is. */
  accountId: string;
  sessionId: string;
  site: string;
  model: string | null;
  status: "succeeded" | "cancelled";
  latencyMs: number | null;
  firstDeltaMs: number | null;
  costUsd: number | null;
  /** When the generation started (its record's created_at). */
  startedAt: number;
}

export interface DebitArgs {
  walletId: string;
  key: string;
  amount: number;
  type: LedgerType;
  description: string;
  reference?: string;
  /** Take what is there up to `amount` instead of all-or-nothing. */
  partial: boolean;
  /** Only from these grants (a refund takes back what is left of its purchase). */
  grantIds?: string[];
  /**
   * With `partial`: what open holds keep of these grants (up to the shortfall)
   * becomes a debt, keyed by `key`, paid from those tokens as the holds
   * release them, in the same transaction (worker/wallet/debts.ts).
   */
  owe?: boolean;
}

/** A debt a debit left: `paid` of `amount` so far; `open` while holds on its grants may still pay it. */
export interface DebtView {
  key: string;
  amount: number;
  paid: number;
  open: boolean;
}

export interface AdjustArgs {
  walletId: string;
  key: string;
  /** Positive adds an `adjustment` grant; negative takes up to that much, never below zero. */
  amount: number;
  reason: string;
}

export interface TransferArgs {
  walletId: string;
  /** Exactly once per key (the anonymous account id, for sign-in). */
  key: string;
  to: string;
  description: string;
}

export type GrantResult = WalletResult<{ grantId: string }>;
export type ReserveResult = WalletResult<{ holdId: string; held: number; deadline: string }>;
export type SettleResult = WalletResult<{ charged: number; entryId: string | null }>;
/** `status` says how the hold ended: voiding a settled hold charges what was settled. */
export type VoidResult = WalletResult<{ status: "voided" | "expired" | "settled" }>;
/** `owed`: the debt the debit left (0 without `owe`). */
export type DebitResult = WalletResult<{ debited: number; owed: number }>;
export type AdjustResult = WalletResult<{ adjusted: number }>;
export type TransferResult = WalletResult<{ moved: number }>;

export interface LedgerEntry {
  id: string;
  seq: number;
  type: LedgerType;
  amount: number;
  balanceAfter: number;
  grantId: string | null;
  holdId: string | null;
  reference: string | null;
  description: string;
  feature: string | null;
  generationId: string | null;
  /** The team member whose hold this usage settled (null: not a member's spend). */
  memberId: string | null;
  createdAt: string;
}

/** What reconcile needs from a wallet, read at one instant (see Wallet.audit). */
export interface WalletAudit {
  walletId: string | null;
  /** The last entry's seq: entries are numbered 1, 2, 3… with no gaps. */
  seq: number;
  /** Unburned grant remainders plus open holds. */
  balance: number;
  /** The wallet's own sum of its entries; equals `balance` unless the wallet is corrupt. */
  entriesSum: number;
  /** Entries not yet confirmed in D1 (D1 down, or a flush in flight). */
  unsynced: { seq: number; id: string; amount: number }[];
  /** Seqs of the checked rows that this wallet never wrote. */
  unknown: number[];
}

/** D1 traffic since the object started (benchmarks and the rows-written budget). */
export interface WalletStats {
  d1Batches: number;
  d1RowsWritten: number;
  /**
   * D1 rows written by this instance since it started, by the table each
   * statement wrote (its triggers' rows included): what the bench prints.
   */
  d1RowsByTable: Record<string, number>;
  entriesFlushed: number;
  unsynced: number;
  pendingCredits: number;
}

/** A generation's request, as its record keeps it (context without empty fields). */
export interface GenerationRequest {
  site: string;
  feature: string;
  issueType: string;
  prompt: string;
  context: Record<string, string> | null;
}

/** `admit`: every check of a generation and its hold, in the account's object (admission.ts). */
export interface AdmitArgs {
  /** The requester's account: this object. */
  walletId: string;
  session: { id: string; accountId: string; kind: "anonymous" | "user"; resumed?: boolean };
  generationId: string;
  /** The request's Idempotency-Key and the hash of its body. */
  key: string;
  requestHash: string;
  request: GenerationRequest;
  /**
   * The feature's price as admitted: the most it can cost, the plans it needs,
   * the pricing version, and its revision (billing/pricing.ts). `fresh`: read
   * from D1 for this request, so admitted even if older than one seen here.
   */
  price: { held: number; plans: string[] | null; version: string; revision: number; fresh: boolean };
  /** The team paying, or null: the account pays (and this object holds). */
  teamId: string | null;
  /** The per-account rate limit. */
  limit: { limit: number; periodMs: number };
  ttlMs: number;
}

export type AdmitOutcome =
  | { ok: true; admitted: true; generationId: string; holdId: string | null; held: number }
  /** The key was seen before: its record, for the caller to replay, refuse or call in progress. */
  | { ok: true; admitted: false; record: GenerationRecord }
  | WalletFailure;
/** `sessionExpiresAt`: when the asking session expires as this object knows it (for the sliding renewal). */
export type AdmitResult = AdmitOutcome & { tokens: Tokens; sessionExpiresAt?: number };

/** `finish`: settle or void the hold and complete the record (admission.ts). */
export interface FinishArgs {
  walletId: string;
  generationId: string;
  /** What to settle the hold to; for a team generation, what the team's wallet charged. */
  charge: number;
  /** The usage entry's description. */
  description: string;
  /** A team generation whose usage entry, in the team's wallet, carries its D1 row: the record is not sent. */
  carried?: boolean;
  outcome: {
    status: "succeeded" | "failed" | "cancelled";
    title: string | null;
    description: string | null;
    output: string;
    model: string | null;
    upstreamId: string | null;
    errorCode: string | null;
    inputTokens: number | null;
    outputTokens: number | null;
    costUsd: number | null;
    firstDeltaMs: number | null;
    latencyMs: number;
  };
}

export type FinishOutcome =
  | { ok: true; charged: number; holdId: string | null; replayed?: boolean }
  | WalletFailure;
export type FinishResult = FinishOutcome & { tokens: Tokens };

export type { WalletFaults } from "./faults";
