import type { LedgerType } from "../db/schema/ledger";
import type { LedgerEntry } from "./types";

/**
 * The wallet object's own SQLite storage: its schema, applied in order and
 * recorded in `meta.schema_version`, and the rows it reads. Version 1 is the
 * first shape that shipped; later versions only add to it, so deployed
 * wallets upgrade in place on first use.
 */
export const SCHEMA: string[] = [
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
  // v4: team wallets (docs/decisions/010): the member a hold and its usage
  // entry belong to, and what each member's settled holds burned per UTC month.
  `ALTER TABLE holds ADD COLUMN member_id TEXT;
   ALTER TABLE entries ADD COLUMN member_id TEXT;
   CREATE INDEX holds_member_open ON holds (member_id, status) WHERE member_id IS NOT NULL;
   CREATE TABLE member_spend (member_id TEXT NOT NULL, period_start INTEGER NOT NULL,
     spent INTEGER NOT NULL, PRIMARY KEY (member_id, period_start));`,
  // v5: debts (debts.ts): what a debit with \`owe\` could not take because
  // generations held it, paid from those tokens as the holds release them.
  `CREATE TABLE IF NOT EXISTS debts (key TEXT PRIMARY KEY, type TEXT NOT NULL, description TEXT NOT NULL,
     reference TEXT, grant_ids TEXT NOT NULL, amount INTEGER NOT NULL, paid INTEGER NOT NULL,
     open INTEGER NOT NULL, created_at INTEGER NOT NULL);
   CREATE INDEX IF NOT EXISTS debts_open ON debts (open, created_at);`,
  // v6: who may spend, answered here instead of D1 on the hot path
  // (access.ts, docs/decisions/017): the owner account's state, its sessions
  // as far as this object has seen them, and a team wallet's members. Each is
  // loaded from D1 once (the *_loaded marks in meta) and then kept current by
  // the routes that change it.
  `CREATE TABLE IF NOT EXISTS owner_state (id INTEGER PRIMARY KEY CHECK (id = 1), account_id TEXT NOT NULL,
     status TEXT NOT NULL, merged INTEGER NOT NULL, plan TEXT, updated_at INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, kind TEXT NOT NULL, resumed INTEGER NOT NULL,
     expires_at INTEGER NOT NULL, revoked_at INTEGER, created_at INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS members (account_id TEXT PRIMARY KEY, role TEXT NOT NULL, monthly_limit INTEGER,
     updated_at INTEGER NOT NULL);`,
  // v7: the account's generations with their content (records.ts,
  // docs/decisions/018): the idempotency record of a request, its ticket, and
  // the queue of metadata rows D1 has not received yet.
  `CREATE TABLE IF NOT EXISTS generations (id TEXT PRIMARY KEY, session_id TEXT, idempotency_key TEXT NOT NULL,
     request_hash TEXT NOT NULL, wallet_id TEXT, hold_id TEXT, site TEXT NOT NULL, feature TEXT NOT NULL,
     issue_type TEXT NOT NULL, prompt TEXT NOT NULL, context TEXT, status TEXT NOT NULL,
     held INTEGER NOT NULL, charged INTEGER NOT NULL DEFAULT 0, title TEXT, description TEXT,
     output TEXT, model TEXT, upstream_id TEXT, error_code TEXT, input_tokens INTEGER,
     output_tokens INTEGER, cost_usd REAL, first_delta_ms INTEGER, latency_ms INTEGER,
     created_at INTEGER NOT NULL, completed_at INTEGER, d1_synced INTEGER NOT NULL DEFAULT 0);
   CREATE UNIQUE INDEX IF NOT EXISTS generations_key ON generations (idempotency_key);
   CREATE INDEX IF NOT EXISTS generations_session ON generations (session_id, id);
   CREATE INDEX IF NOT EXISTS generations_unsynced ON generations (d1_synced) WHERE d1_synced = 0;`,
  // v8: per-account rate limits (admission.ts): GCRA state per key, as
  // worker/lib/rate-limit.ts kept it in D1.
  `CREATE TABLE IF NOT EXISTS rate_limits (key TEXT PRIMARY KEY, tat INTEGER NOT NULL);`,
  // v9: the running totals follow each entry inside SQLite (docs/decisions/020):
  // one statement fewer per usage entry than updating them from the Worker.
  `CREATE TRIGGER IF NOT EXISTS entries_totals AFTER INSERT ON entries WHEN new.type IN ('usage', 'purchase')
   BEGIN
     UPDATE totals SET
       used = used - CASE WHEN new.type = 'usage' THEN new.amount ELSE 0 END,
       purchased = purchased + CASE WHEN new.type = 'purchase' THEN new.amount ELSE 0 END;
   END;`,
  // v10: D1 has always received a prefix of the entries (docs/decisions/020),
  // so one mark in the outbox's own row (`flush_stats.synced_seq`, moved by
  // the statement that counts each batch) replaces a flag, its index and an
  // update of every entry sent.
  `ALTER TABLE flush_stats ADD COLUMN synced_seq INTEGER NOT NULL DEFAULT 0;
   UPDATE flush_stats SET synced_seq = coalesce(
     (SELECT min(seq) - 1 FROM entries WHERE synced = 0), (SELECT max(seq) FROM entries), 0);
   DROP INDEX IF EXISTS entries_unsynced;
   ALTER TABLE entries DROP COLUMN synced;`,
  // v11: the idempotency records of a reserve and of a settle (one of each
  // per hold) live in the hold row, written by the statement that writes the
  // hold anyway (docs/decisions/020); the records of earlier calls move there,
  // read by key range (a reserve's names its hold in its answer) so the
  // upgrade is one pass over them, not one per hold.
  `ALTER TABLE holds ADD COLUMN reserve_key TEXT;
   ALTER TABLE holds ADD COLUMN reserve_fingerprint TEXT;
   ALTER TABLE holds ADD COLUMN settle_fingerprint TEXT;
   ALTER TABLE holds ADD COLUMN settle_result TEXT;
   CREATE UNIQUE INDEX holds_reserve_key ON holds (reserve_key) WHERE reserve_key IS NOT NULL;
   UPDATE holds SET (reserve_key, reserve_fingerprint) = (r.k, r.fingerprint)
     FROM (SELECT substr(key, 9) AS k, fingerprint, json_extract(result, '$.holdId') AS hold_id
           FROM ops WHERE key >= 'reserve:' AND key < 'reserve;') AS r
     WHERE holds.id = r.hold_id;
   UPDATE holds SET (settle_fingerprint, settle_result) = (o.fingerprint, o.result)
     FROM ops o WHERE o.key = 'settle:' || holds.id;
   DELETE FROM ops WHERE (key >= 'reserve:' AND key < 'reserve;') OR (key >= 'settle:' AND key < 'settle;');`,
  // v12: a team's usage entry carries its generation's D1 columns (JSON of a
  // CarriedGeneration), so D1 gets the generation as that one entry
  // (docs/decisions/025).
  "ALTER TABLE entries ADD COLUMN generation TEXT;",
];

/** The entries D1 may not have: past the prefix it has (`flush_stats.synced_seq`, v10). */
export const UNSYNCED = "entries WHERE seq > (SELECT synced_seq FROM flush_stats)";

/** Finished generation records whose D1 row has not gone out yet. */
export const RECORDS_UNSENT = "generations WHERE d1_synced = 0 AND status <> 'pending'";

export interface GrantRow extends Record<string, SqlStorageValue> {
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
export type GrantView = GrantRow & { expiresAt: number | null; createdAt: number };

export const grantView = (g: GrantRow): GrantView => ({
  ...g,
  expiresAt: g.expires_at,
  createdAt: g.created_at,
});

export type HoldStatus = "open" | "settled" | "voided" | "expired";

export interface HoldRow extends Record<string, SqlStorageValue> {
  id: string;
  amount: number;
  allocations: string;
  deadline: number;
  /** open → settled | voided (by the caller) | expired (deadline passed). */
  status: HoldStatus;
  reference: string | null;
  created_at: number;
  /** The team member spending (null: not a member's spend). */
  member_id: string | null;
  /** The reserve that opened it: its idempotency key and what it was asked (null: admitted, records.ts). */
  reserve_key: string | null;
  reserve_fingerprint: string | null;
  /** The settle that ended it: what it was asked and answered (null: not settled by `settle`). */
  settle_fingerprint: string | null;
  settle_result: string | null;
}

export interface EntryRow extends Record<string, SqlStorageValue> {
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
  member_id: string | null;
  /** A team generation's D1 columns (CarriedGeneration as JSON), on its usage entry; else null. */
  generation: string | null;
}

export interface CreditRow extends Record<string, SqlStorageValue> {
  key: string;
  to_wallet: string;
  amount: number;
  description: string;
  reference: string | null;
  parts: string | null;
}

/** One piece of a transfer: tokens that expired together stay together. */
export interface CreditPart {
  amount: number;
  expiresAt: number | null;
}

export function toEntry(r: EntryRow): LedgerEntry {
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
    memberId: r.member_id ?? null,
    createdAt: new Date(r.created_at).toISOString(),
  };
}
