import { entryIdFor, FOLDED, holdIdFor, settleKeyFor, usageDescription } from "../lib/entries";
import { CHARGE_UNCONFIRMED, confirmedErrorCode } from "./admission";
import type { RecordRow } from "./records";
import type { EntryRow, GrantRow } from "./storage";
import type { CarriedGeneration, ChargeConfirmation } from "./types";

/*
 * What a wallet writes to D1, statement by statement, and what that costs in
 * D1 rows (docs/decisions/019-d1-rows.md). D1 counts every row a statement
 * writes: the table's, each index's and each trigger's.
 */

/**
 * At most how often a wallet refreshes D1's grant mirror (`grants.remaining`).
 * Every generation burns from a grant; refreshing its row with every entry
 * was one D1 row per generation. The ledger stays exact in D1 at once; the
 * mirror, which only admin views read, lags by up to this much.
 */
export const GRANT_MIRROR_MS = 60_000;

/** One statement of a flush, with the table it writes (its triggers' rows count with it). */
export interface MirrorStatement {
  table: string;
  statement: D1PreparedStatement;
  /**
   * A team generation's charge nobody heard (decision 025), whose D1 row is
   * written only if the team's entry does not carry it: 0 rows written says
   * the team charged it, so the record here is confirmed.
   */
  confirms?: string;
  /** A team's entry replacing any row of its generation: a row unconfirmed is confirmed in the member's object. */
  replaces?: ChargeConfirmation & { accountId: string };
}

/**
 * Which dirty grants go out now: all of them once a minute; in between only
 * grants D1 has never been sent by this instance since the last full refresh
 * (a new purchase or welcome grant shows at once).
 */
export class GrantMirror {
  /** Wallet time of the last full refresh (0: none since this instance started). */
  refreshedAt = 0;
  private sentSince = new Set<string>();

  due(dirty: GrantRow[], now: number): { grants: GrantRow[]; full: boolean } {
    if (now - this.refreshedAt >= GRANT_MIRROR_MS) return { grants: dirty, full: true };
    return {
      grants: dirty.filter((g) => g.created_at >= this.refreshedAt && !this.sentSince.has(g.id)),
      full: false,
    };
  }

  sent(grants: GrantRow[], full: boolean, now: number): void {
    if (full && grants.length > 0) {
      this.refreshedAt = now;
      this.sentSince.clear();
    }
    for (const g of grants) this.sentSince.add(g.id);
  }

  /** When the grants left dirty should go out (the alarm's time for them). */
  nextAt(): number {
    return this.refreshedAt + GRANT_MIRROR_MS;
  }
}

/**
 * The D1 statements mirroring one batch, in this order: the `wallets` row
 * with the first entry; the entries keyed by (wallet, seq), so a retry after
 * a lost acknowledgement is a no-op; the finished generations' metadata rows
 * (`records`: an account wallet's, final, no text); the grants' unburned
 * amounts.
 *
 * A usage entry whose generation's record is in the same batch and paid by
 * this account's own wallet is that generation's only D1 row (foldable,
 * foldedStatement); so is a team's usage entry whose settle carried its
 * generation's columns (carriedFold). Otherwise a usage entry whose generation's row is in the same batch is flagged
 * `generation_rollup` and the row points at it (`usage_seq`): the row's
 * rollup trigger then counts both in one stats_usage_daily row, and the entry
 * writes no stats_ledger_daily row. The entry must come first (the
 * generation's trigger reads it); were the row first, the entry's trigger
 * would count it itself (migration "d1_rows"), so the figures hold either way.
 */
export function mirrorStatements(
  db: D1Database,
  walletId: string,
  rows: EntryRow[],
  grants: GrantRow[],
  records: RecordRow[] = [],
): MirrorStatement[] {
  const statements: MirrorStatement[] = [];
  const usageSeq = new Map<string, number>();
  if (rows[0]?.seq === 1) {
    statements.push({
      table: "wallets",
      statement: db
        .prepare("INSERT INTO wallets (id, account_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
        .bind(walletId, walletId, rows[0].created_at),
    });
  }
  const byId = new Map(records.map((g) => [g.id, g]));
  const folded = new Set<string>();
  for (const r of rows) {
    const record = r.generation_id === null ? undefined : byId.get(r.generation_id);
    const withRecord =
      r.type === "usage" &&
      r.amount !== 0 &&
      record !== undefined &&
      !usageSeq.has(record.id) &&
      !folded.has(record.id);
    const fold = withRecord && record && foldable(r, record) ? recordFold(record) : carriedFold(r);
    if (fold) {
      // One row for the generation: drop a row the Worker wrote when the
      // object could not be reached (its figures go, the entry's come).
      folded.add(fold.id);
      statements.push({
        table: "generations",
        statement: db.prepare("DELETE FROM generations WHERE id = ? RETURNING error_code").bind(fold.id),
        ...(fold.accountId !== null && r.member_id !== null
          ? {
              replaces: {
                accountId: fold.accountId,
                generationId: fold.id,
                charged: -r.amount,
                errorCode: confirmedErrorCode(fold.status),
              },
            }
          : {}),
      });
      statements.push({ table: "ledger_entries", statement: foldedStatement(db, walletId, r, fold) });
      continue;
    }
    if (withRecord && record) usageSeq.set(record.id, r.seq);
    statements.push({ table: "ledger_entries", statement: entryStatement(db, walletId, r, withRecord) });
  }
  for (const g of records) {
    if (folded.has(g.id)) continue;
    statements.push({
      table: "generations",
      statement: generationStatement(db, walletId, g, usageSeq.get(g.id) ?? null),
      ...(isGuarded(g) ? { confirms: g.id } : {}),
    });
  }
  for (const g of grants) {
    statements.push({
      table: "grants",
      statement: db
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
    });
  }
  return statements;
}

/**
 * Whether a usage entry can carry its generation's D1 metadata (docs/decisions/021):
 * the account's own wallet paid (a team's entry is in the team's ledger, the
 * record in the member's object), the entry settled the record's own hold
 * for exactly what the record charged, and its feature is the record's.
 */
function foldable(r: EntryRow, g: RecordRow): boolean {
  return (
    g.wallet_id === null &&
    g.hold_id !== null &&
    r.hold_id === g.hold_id &&
    g.charged === -r.amount &&
    r.feature === g.feature &&
    g.status !== "pending" &&
    g.error_code !== CHARGE_UNCONFIRMED
  );
}

/** The generation's columns a folded entry carries, whichever side knew them. */
interface Fold {
  id: string;
  /** The member's account on a team's entry; null on the account's own. */
  accountId: string | null;
  site: string;
  sessionId: string | null;
  model: string | null;
  status: string;
  latencyMs: number | null;
  firstDeltaMs: number | null;
  costUsd: number | null;
  startedAt: number;
}

const recordFold = (g: RecordRow): Fold => ({
  id: g.id,
  accountId: null,
  site: g.site,
  sessionId: g.session_id,
  model: g.model,
  status: g.status,
  latencyMs: g.latency_ms,
  firstDeltaMs: g.first_delta_ms,
  costUsd: g.cost_usd,
  startedAt: g.created_at,
});

/**
 * A team's usage entry with its generation's columns, given by the route's
 * settle (docs/decisions/025): the member's record stays out of D1.
 */
function carriedFold(r: EntryRow): Fold | null {
  if (r.generation === null || r.generation_id === null || r.type !== "usage" || r.amount === 0) return null;
  const c = JSON.parse(r.generation) as CarriedGeneration;
  return { ...c, id: r.generation_id };
}

/**
 * A charged generation as one D1 row: its usage entry with the generation's
 * columns D1 reads across accounts (generation_rollup = 2; the entry's
 * trigger writes the rollup row). A column that derives from the generation
 * id, feature and site (worker/lib/entries.ts) is sent as null, but only when
 * it is exactly what it derives to.
 */
function foldedStatement(db: D1Database, walletId: string, r: EntryRow, g: Fold) {
  return db
    .prepare(
      `INSERT INTO ledger_entries (wallet_id, seq, id, type, amount, balance_after, grant_id, hold_id,
         reference, idempotency_key, description, feature, generation_id, member_id, created_at, generation_rollup,
         account_id, session_id, site, model, status, latency_ms, first_delta_ms, cost_usd, started_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${FOLDED}, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    )
    .bind(
      walletId,
      r.seq,
      r.id === entryIdFor(g.id) ? null : r.id,
      r.type,
      r.amount,
      r.balance_after,
      r.grant_id,
      r.hold_id === holdIdFor(g.id) ? null : r.hold_id,
      r.reference === g.id ? null : r.reference,
      r.hold_id !== null && r.idempotency_key === settleKeyFor(r.hold_id) ? null : r.idempotency_key,
      r.feature !== null && r.description === usageDescription(r.feature, g.site) ? null : r.description,
      r.feature,
      r.generation_id,
      r.member_id ?? null,
      r.created_at,
      g.accountId,
      g.sessionId,
      g.site,
      g.model,
      g.status === "succeeded" ? null : g.status,
      g.latencyMs,
      g.firstDeltaMs,
      g.costUsd,
      g.startedAt,
    );
}

function entryStatement(db: D1Database, walletId: string, r: EntryRow, withRecord: boolean) {
  return db
    .prepare(
      `INSERT INTO ledger_entries (wallet_id, seq, id, type, amount, balance_after, grant_id, hold_id,
         reference, idempotency_key, description, feature, generation_id, member_id, created_at, generation_rollup)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
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
      r.member_id ?? null,
      r.created_at,
      withRecord ? 1 : 0,
    );
}

/**
 * Off: history, by id, Markdown and the sign-in move read a generation's text
 * from its account's object (docs/decisions/018, content part), so D1's row
 * is metadata only. On, D1's row would keep the prompt, context and ticket too
 * (never the idempotency key or request hash, which only the object needs).
 * Text adds bytes, not rows: no index covers it.
 */
export const RECORD_TEXT_IN_D1 = false;

const RECORD_COLUMNS = [
  "id",
  "account_id",
  "wallet_id",
  "session_id",
  "site",
  "feature",
  "issue_type",
  "status",
  "error_code",
  "held",
  "charged",
  "model",
  "upstream_id",
  "input_tokens",
  "output_tokens",
  "cost_usd",
  "first_delta_ms",
  "latency_ms",
  "created_at",
  "completed_at",
];
const TEXT_COLUMNS = ["prompt", "context", "title", "description", "output"];

/**
 * A finished generation's D1 row: inserted once with its final status, or,
 * when the Worker already wrote it because the object could not be reached
 * (charge.ts) or before the object kept records, brought up to what the
 * object recorded. Keyed by id, so a retried batch changes nothing;
 * `usage_seq` is set once.
 */
export function generationStatement(
  db: D1Database,
  accountId: string,
  g: RecordRow,
  usageSeq: number | null,
): D1PreparedStatement {
  const columns = RECORD_TEXT_IN_D1 ? [...RECORD_COLUMNS, ...TEXT_COLUMNS] : RECORD_COLUMNS;
  // A team's charge nobody heard may still have been made, and its entry then
  // carries the generation (decision 025): the row is not written beside it.
  const guarded = isGuarded(g);
  const values = columns.map(() => "?").join(", ");
  const sql = `INSERT INTO generations (${columns.join(", ")}, usage_seq)
     ${
       guarded
         ? `SELECT ${values}, ? WHERE NOT EXISTS (SELECT 1 FROM ledger_entries
              WHERE wallet_id = ? AND generation_id = ? AND generation_rollup = ${FOLDED})`
         : `VALUES (${values}, ?)`
     }
     ON CONFLICT (id) DO UPDATE SET ${columns
       .filter((c) => c !== "id" && c !== "account_id" && c !== "created_at")
       .map((c) => `${c} = excluded.${c}`)
       .join(", ")}, usage_seq = coalesce(generations.usage_seq, excluded.usage_seq)`;
  const row: Record<string, SqlStorageValue> = { ...g, account_id: accountId };
  const bound = [...columns.map((c) => row[c] ?? null), usageSeq];
  return db.prepare(sql).bind(...bound, ...(guarded ? [g.wallet_id, g.id] : []));
}

/** A team's record whose charge nobody heard: the team's entry may carry it already. */
const isGuarded = (g: RecordRow) => g.wallet_id !== null && g.error_code === CHARGE_UNCONFIRMED;

/** Adds each statement's D1 rows written (its triggers' included) to its table's count. */
export function countRows(
  into: Map<string, number>,
  statements: MirrorStatement[],
  results: D1Result[],
): number {
  let total = 0;
  for (const [i, s] of statements.entries()) {
    const n = results[i]?.meta.rows_written ?? 0;
    into.set(s.table, (into.get(s.table) ?? 0) + n);
    total += n;
  }
  return total;
}
