import type { LedgerType } from "../db/schema/ledger";
import type { GrantSource } from "./ledger";

/** The `tokens` object of API.md (`GET /api/me`). */
export interface Tokens {
  /** Tokens that can be spent now. */
  available: number;
  /** Tokens reserved by generations in flight. */
  held: number;
  /** available + held: what the ledger sums to. */
  balance: number;
  used: number;
  purchased: number;
  grants: { id: string; source: GrantSource; remaining: number; expiresAt?: string }[];
}

export interface WalletFailure {
  ok: false;
  code:
    | "insufficient_tokens"
    | "idempotency_conflict"
    | "invalid_amount"
    | "invalid_request"
    | "hold_not_found"
    | "hold_closed"
    | "hold_expired";
  message: string;
  required?: number;
  available?: number;
}

export interface GrantArgs {
  walletId: string;
  /** Idempotency key: the same key grants once. */
  key: string;
  source: GrantSource;
  /** Ledger entry type; defaults from the source (free → grant, transfer → transfer_in). */
  type?: LedgerType;
  amount: number;
  /** Epoch ms; absent: never expires. */
  expiresAt?: number | null;
  description: string;
  reference?: string;
}

export interface ReserveArgs {
  walletId: string;
  key: string;
  amount: number;
  /** The hold is voided by the alarm this long after it was made. */
  ttlMs: number;
  reference?: string;
}

export type ReserveResult =
  | { ok: true; holdId: string; held: number; deadline: string; tokens: Tokens; replayed?: boolean }
  | (WalletFailure & { tokens: Tokens });

export interface SettleArgs {
  walletId: string;
  holdId: string;
  /** What is charged: 0 ≤ amount ≤ held. */
  amount: number;
  description: string;
  feature?: string;
  generationId?: string;
  reference?: string;
}

export type SettleResult =
  | { ok: true; charged: number; entryId: string | null; tokens: Tokens; replayed?: boolean }
  | (WalletFailure & { tokens: Tokens });

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
}

export interface TransferArgs {
  walletId: string;
  /** Exactly once per key (the anonymous account id, for sign-in). */
  key: string;
  to: string;
  description: string;
}

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
