import { env } from "cloudflare:test";
import { newId } from "../../worker/lib/ids";
import type { PortableRecord } from "../../worker/wallet/records";

/** A finished generation as an object keeps it; `over` changes any field. */
export function record(over: Partial<PortableRecord> = {}): PortableRecord {
  const id = over.id ?? newId("gen");
  return {
    id,
    sessionId: null,
    idempotencyKey: `key-${id}`,
    requestHash: "hash",
    walletId: null,
    site: "jira",
    feature: "generate",
    issueType: "bug",
    prompt: `Prompt of ${id}`,
    context: { title: "Form title" },
    status: "succeeded",
    held: 1,
    charged: 1,
    title: `Title of ${id}`,
    description: `## Steps\n\nDescription of ${id}`,
    output: `{"title":"Title of ${id}"}`,
    model: "fake/ok",
    upstreamId: null,
    errorCode: null,
    inputTokens: 10,
    outputTokens: 20,
    costUsd: 0.0001,
    firstDeltaMs: 120,
    latencyMs: 900,
    createdAt: Date.now(),
    completedAt: Date.now(),
    d1Synced: true,
    ...over,
  };
}

/**
 * A legacy D1 row: written before the account's object kept its generations,
 * so its key, hash, prompt and ticket are in D1 (what the move takes out).
 */
export async function legacyRow(accountId: string, over: Partial<PortableRecord> = {}) {
  const r = record(over);
  await env.DB.prepare(
    `INSERT INTO generations (id, account_id, wallet_id, session_id, idempotency_key, request_hash, site, feature,
       issue_type, prompt, context, title, description, output, model, upstream_id, status, error_code, held,
       charged, input_tokens, output_tokens, cost_usd, first_delta_ms, latency_ms, created_at, completed_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      r.id,
      accountId,
      r.walletId,
      r.sessionId,
      r.idempotencyKey,
      r.requestHash,
      r.site,
      r.feature,
      r.issueType,
      r.prompt,
      r.context ? JSON.stringify(r.context) : null,
      r.title,
      r.description,
      r.output,
      r.model,
      r.upstreamId,
      r.status,
      r.errorCode,
      r.held,
      r.charged,
      r.inputTokens,
      r.outputTokens,
      r.costUsd,
      r.firstDeltaMs,
      r.latencyMs,
      r.createdAt,
      r.completedAt,
    )
    .run();
  return r;
}

/** The D1 rows of these accounts that still carry text. */
export async function d1TextRows(accountIds: string[]): Promise<number> {
  const marks = accountIds.map(() => "?").join(", ");
  const row = await env.DB.prepare(
    `SELECT count(*) AS n FROM generations WHERE account_id IN (${marks})
       AND (prompt IS NOT NULL OR title IS NOT NULL OR description IS NOT NULL OR output IS NOT NULL
            OR context IS NOT NULL OR idempotency_key IS NOT NULL OR request_hash IS NOT NULL)`,
  )
    .bind(...accountIds)
    .first<{ n: number }>();
  return row?.n ?? 0;
}
