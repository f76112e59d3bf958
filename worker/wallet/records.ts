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

export function toRecord(accountId: string, r: RecordRow): GenerationRecord {
  return {
    id: r.id,
    accountId,
    sessionId: r.session_id,
    idempotencyKey: r.idempotency_key,
    requestHash: r.request_hash,
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

export function recordById(sql: SqlStorage, id: string): RecordRow | null {
  return sql.exec<RecordRow>("SELECT * FROM generations WHERE id = ?", id).toArray()[0] ?? null;
}

export function recordByKey(sql: SqlStorage, key: string): RecordRow | null {
  return sql.exec<RecordRow>("SELECT * FROM generations WHERE idempotency_key = ?", key).toArray()[0] ?? null;
}
