/**
 * An account's generations, kept in its own wallet object (docs/decisions/018):
 * the request's idempotency record, its prompt and context, and the ticket
 * that came back. They live here rather than in D1 so that the database grows
 * with the number of accounts, not with every ticket ever written, and so that
 * admission (the key, the hold) is one transaction in one object.
 *
 * D1 receives each finished generation's metadata (no text) through the
 * outbox, for what is queried across accounts: stats, admin, reconcile.
 */

export type RecordStatus = "pending" | "succeeded" | "failed" | "cancelled";

/** One row of the object's `generations` table (storage.ts, v7). */
export interface RecordRow extends Record<string, SqlStorageValue> {
  id: string;
  /** The session that asked: an anonymous session reads only its own. */
  session_id: string | null;
  idempotency_key: string;
  /** SHA-256 of the request body: a reused key with another body is a conflict. */
  request_hash: string;
  /** The paying wallet when it is a team's; null for the account's own. */
  wallet_id: string | null;
  hold_id: string | null;
  site: string;
  feature: string;
  issue_type: string;
  prompt: string;
  /** JSON of the form's context (title, description, project, url, template). */
  context: string | null;
  status: RecordStatus;
  held: number;
  charged: number;
  title: string | null;
  description: string | null;
  output: string | null;
  model: string | null;
  upstream_id: string | null;
  error_code: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  first_delta_ms: number | null;
  latency_ms: number | null;
  created_at: number;
  completed_at: number | null;
  /** 0 until D1 has this generation's final metadata row. */
  d1_synced: number;
}

/** A generation as the routes read it (camel case, times as epoch ms). */
export interface GenerationRecord {
  id: string;
  accountId: string;
  sessionId: string | null;
  idempotencyKey: string;
  requestHash: string;
  walletId: string | null;
  site: string;
  feature: string;
  issueType: string;
  prompt: string;
  context: Record<string, string> | null;
  status: RecordStatus;
  held: number;
  charged: number;
  title: string | null;
  description: string | null;
  output: string | null;
  model: string | null;
  upstreamId: string | null;
  errorCode: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  firstDeltaMs: number | null;
  latencyMs: number | null;
  createdAt: number;
  completedAt: number | null;
}

/** A generation's columns, as the object and D1 both name them (D1's may lack the key and hash). */
export type RecordColumns = Pick<
  RecordRow,
  | "id"
  | "session_id"
  | "wallet_id"
  | "site"
  | "feature"
  | "issue_type"
  | "prompt"
  | "context"
  | "status"
  | "held"
  | "charged"
  | "title"
  | "description"
  | "output"
  | "model"
  | "upstream_id"
  | "error_code"
  | "input_tokens"
  | "output_tokens"
  | "cost_usd"
  | "first_delta_ms"
  | "latency_ms"
  | "created_at"
  | "completed_at"
>;

/** The fields every reader of a generation row takes, wherever the row was read. */
export function recordFields(
  r: RecordColumns,
): Omit<GenerationRecord, "accountId" | "idempotencyKey" | "requestHash"> {
  return {
    id: r.id,
    sessionId: r.session_id,
    walletId: r.wallet_id,
    site: r.site,
    feature: r.feature,
    issueType: r.issue_type,
    prompt: r.prompt,
    context: r.context ? (JSON.parse(r.context) as Record<string, string>) : null,
    status: r.status,
    held: r.held,
    charged: r.charged,
    title: r.title,
    description: r.description,
    output: r.output,
    model: r.model,
    upstreamId: r.upstream_id,
    errorCode: r.error_code,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    costUsd: r.cost_usd,
    firstDeltaMs: r.first_delta_ms,
    latencyMs: r.latency_ms,
    createdAt: r.created_at,
    completedAt: r.completed_at,
  };
}

export function toRecord(accountId: string, r: RecordRow): GenerationRecord {
  return { ...recordFields(r), accountId, idempotencyKey: r.idempotency_key, requestHash: r.request_hash };
}

export function recordById(sql: SqlStorage, id: string): RecordRow | null {
  return sql.exec<RecordRow>("SELECT * FROM generations WHERE id = ?", id).toArray()[0] ?? null;
}

export function recordByKey(sql: SqlStorage, key: string): RecordRow | null {
  return sql.exec<RecordRow>("SELECT * FROM generations WHERE idempotency_key = ?", key).toArray()[0] ?? null;
}

// ── reads, import and export (the content part of docs/decisions/018) ────

/**
 * Who reads: a signed-in session reads all of the account's generations; an
 * anonymous one only those made through itself, plus, when it is not
 * `resumed`, those from before generations recorded their session
 * (docs/decisions/009-access.md, the rule `ownGenerations` applies to D1).
 */
export interface ReaderSession {
  id: string;
  kind: "user" | "anonymous";
  resumed?: boolean;
}

/** A record as it travels between objects (export → import) and from D1 (the move of legacy rows). */
export type PortableRecord = Omit<GenerationRecord, "accountId"> & {
  /** True when D1 already holds this generation's metadata row: nothing for the outbox to send. */
  d1Synced: boolean;
};

const LIST_MAX = 200;

function readerFilter(session: ReaderSession | undefined): { where: string; params: SqlStorageValue[] } {
  if (!session || session.kind === "user") return { where: "1", params: [] };
  if (session.resumed) return { where: "session_id = ?", params: [session.id] };
  return { where: "(session_id = ? OR session_id IS NULL)", params: [session.id] };
}

/** Newest first, ids below `cursor`; at most `limit` (1..200). */
export function listRecords(
  sql: SqlStorage,
  session: ReaderSession | undefined,
  cursor: string | undefined,
  limit: number,
): RecordRow[] {
  const f = readerFilter(session);
  return sql
    .exec<RecordRow>(
      `SELECT * FROM generations WHERE id < ? AND ${f.where} ORDER BY id DESC LIMIT ?`,
      cursor ?? "\uffff",
      ...f.params,
      Math.min(Math.max(limit, 1), LIST_MAX),
    )
    .toArray();
}

/** One record, or null when it is not there or this session may not read it (both look alike). */
export function readableRecord(sql: SqlStorage, id: string, session: ReaderSession): RecordRow | null {
  const f = readerFilter(session);
  return (
    sql
      .exec<RecordRow>(`SELECT * FROM generations WHERE id = ? AND ${f.where}`, id, ...f.params)
      .toArray()[0] ?? null
  );
}

/** Records oldest first after `after`, for a move to another object or a full export. */
export function exportRecords(
  sql: SqlStorage,
  session: ReaderSession | undefined,
  after: string | undefined,
  limit: number,
): PortableRecord[] {
  const f = readerFilter(session);
  return sql
    .exec<RecordRow>(
      `SELECT * FROM generations WHERE id > ? AND ${f.where} ORDER BY id LIMIT ?`,
      after ?? "",
      ...f.params,
      Math.min(Math.max(limit, 1), LIST_MAX),
    )
    .toArray()
    .map(toPortable);
}

export function toPortable(r: RecordRow): PortableRecord {
  const { accountId: _, ...rest } = toRecord("", r);
  return { ...rest, d1Synced: r.d1_synced === 1 };
}

/**
 * Stores records that arrive from elsewhere, idempotent by id: a record
 * already here is left as it is (a move retried after a crash adds nothing).
 * Its idempotency key may already name another of this object's records (a
 * ticket moved on sign-in whose key the user had used too): the key is then
 * renamed `moved:<id>`, so the ticket is kept and only its replay is lost — a
 * retry that old would be a new generation anyway. The hold it came with
 * belonged to another object's ledger and is not kept. A record here still
 * pending takes the outcome of a finished copy (a legacy row that finished in
 * D1 after an earlier move read it). Call inside a transaction.
 */
export function importRecords(
  sql: SqlStorage,
  rows: PortableRecord[],
): { imported: number; present: number } {
  let imported = 0;
  for (const r of rows) {
    const here = recordById(sql, r.id);
    if (here) {
      if (here.status === "pending" && r.status !== "pending") completeRecord(sql, r);
      continue;
    }
    const taken = recordByKey(sql, r.idempotencyKey);
    sql.exec(
      `INSERT INTO generations (id, session_id, idempotency_key, request_hash, wallet_id, hold_id, site,
         feature, issue_type, prompt, context, status, held, charged, title, description, output, model,
         upstream_id, error_code, input_tokens, output_tokens, cost_usd, first_delta_ms, latency_ms,
         created_at, completed_at, d1_synced)
       VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      r.id,
      r.sessionId,
      taken ? `moved:${r.id}` : r.idempotencyKey,
      r.requestHash,
      r.walletId,
      r.site,
      r.feature,
      r.issueType,
      r.prompt,
      r.context ? JSON.stringify(r.context) : null,
      r.status,
      r.held,
      r.charged,
      r.title,
      r.description,
      r.output,
      r.model,
      r.upstreamId,
      r.errorCode,
      r.inputTokens,
      r.outputTokens,
      r.costUsd,
      r.firstDeltaMs,
      r.latencyMs,
      r.createdAt,
      r.completedAt,
      r.d1Synced ? 1 : 0,
    );
    imported++;
  }
  return { imported, present: rows.length - imported };
}

function completeRecord(sql: SqlStorage, r: PortableRecord): void {
  sql.exec(
    `UPDATE generations SET status = ?, held = ?, charged = ?, title = ?, description = ?, output = ?,
       model = ?, upstream_id = ?, error_code = ?, input_tokens = ?, output_tokens = ?, cost_usd = ?,
       first_delta_ms = ?, latency_ms = ?, completed_at = ?, d1_synced = ?
     WHERE id = ?`,
    r.status,
    r.held,
    r.charged,
    r.title,
    r.description,
    r.output,
    r.model,
    r.upstreamId,
    r.errorCode,
    r.inputTokens,
    r.outputTokens,
    r.costUsd,
    r.firstDeltaMs,
    r.latencyMs,
    r.completedAt,
    r.d1Synced ? 1 : 0,
    r.id,
  );
}

/**
 * Forgets records that moved to another object (sign-in). A pending one is
 * never dropped: its generation is still running here.
 */
/** The error code of a generation whose Worker never finished it (its hold ran out). */
export const INTERRUPTED = "interrupted";

/**
 * Ends the pending records of these holds (released by the sweep at their
 * deadline: the Worker that admitted them died or hung past the hold's
 * life). Failed, charged nothing, like the hold. Not sent to D1: a Worker
 * that lost the object writes the row there itself (`charge_unconfirmed`,
 * confirmed by the cron), and what it wrote knows more than this does. A
 * `finish` arriving later answers what this recorded. Returns how many it
 * ended.
 */
export function interruptRecords(sql: SqlStorage, holdIds: string[], now: number): number {
  let ended = 0;
  for (const holdId of holdIds) {
    ended += sql.exec(
      `UPDATE generations SET status = 'failed', charged = 0, error_code = ?, completed_at = ?, d1_synced = 1
       WHERE hold_id = ? AND status = 'pending'`,
      INTERRUPTED,
      now,
      holdId,
    ).rowsWritten;
  }
  return ended;
}

export function removeRecords(sql: SqlStorage, ids: string[]): number {
  let removed = 0;
  for (const id of ids) {
    removed +=
      sql.exec("DELETE FROM generations WHERE id = ? AND status != 'pending'", id).rowsWritten > 0 ? 1 : 0;
  }
  return removed;
}
