import { FOLDED, usageDescription } from "../../lib/entries";
import { log } from "../../lib/log";
import { wallet } from "../../wallet/client";
import { RECORD_TEXT_IN_D1 } from "../../wallet/mirror";
import type { FinishArgs, Tokens } from "../../wallet/types";
import { CHARGE_UNCONFIRMED, emptyTokens, SETTLE_RETRY_MS } from "./charge";
import type { Job } from "./run";

type Outcome = FinishArgs["outcome"];

/**
 * The generation's one call after the stream, to the account's object:
 * settles or voids the hold (personal) and completes the record, whose D1
 * row the object's outbox writes with the usage entry. `charge` is what to
 * settle, or for a team generation what the team's wallet charged.
 *
 * `finish` is idempotent by generation, so an answer lost is asked again.
 * With no answer at all, the charge may or may not be committed: the D1 row
 * is written from here, marked unconfirmed, unless the object's own row got
 * there first; the cron confirms it from the ledger (cron.ts).
 */
export async function finishRecord(
  job: Job,
  charge: number,
  outcome: Outcome,
  carried = false,
): Promise<{ charged: number; tokens: Tokens; confirmed: boolean }> {
  const account = wallet(job.env, job.accountId);
  const description = usageDescription(job.feature, job.site);
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await account.finish({
        generationId: job.generationId,
        charge,
        description,
        outcome,
        ...(carried ? { carried } : {}),
      });
      if (r.ok) return { charged: r.charged, tokens: r.tokens, confirmed: true };
      // Nothing to finish (the record is gone): nothing was charged here either.
      log("error", "generate.finish_refused", { generationId: job.generationId, code: r.code });
      return { charged: job.teamId ? charge : 0, tokens: r.tokens, confirmed: true };
    } catch (error) {
      const pause = SETTLE_RETRY_MS[attempt];
      if (pause === undefined) {
        log("error", "generate.finish_unconfirmed", {
          generationId: job.generationId,
          charge,
          error: String(error),
        });
        const personal = job.teamId === null;
        // The team's usage entry already carries a team generation it charged.
        if (!carried) {
          await writeRow(job, charge, {
            ...outcome,
            errorCode: personal ? CHARGE_UNCONFIRMED : outcome.errorCode,
          });
        }
        const tokens = await wallet(job.env, job.walletId)
          .balance()
          .catch(() => emptyTokens());
        return { charged: charge, tokens, confirmed: !personal };
      }
      log("warn", "generate.finish_retry", { generationId: job.generationId, attempt, error: String(error) });
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/**
 * The D1 row of a generation whose object could not be reached: metadata
 * (and the text, while D1 still keeps it; outbox.ts), never the key or hash.
 * A row the object already wrote is left as it is: it knows what was charged.
 */
async function writeRow(job: Job, charged: number, o: Outcome): Promise<void> {
  const values: Record<string, string | number | null> = {
    id: job.generationId,
    account_id: job.accountId,
    wallet_id: job.teamId,
    session_id: job.sessionId,
    site: job.input.site,
    feature: job.input.feature,
    issue_type: job.input.issueType,
    status: o.status,
    error_code: o.errorCode,
    held: job.held,
    charged,
    model: o.model,
    upstream_id: o.upstreamId,
    input_tokens: o.inputTokens,
    output_tokens: o.outputTokens,
    cost_usd: o.costUsd,
    first_delta_ms: o.firstDeltaMs,
    latency_ms: o.latencyMs,
    created_at: job.started,
    completed_at: Date.now(),
    ...(RECORD_TEXT_IN_D1
      ? {
          prompt: job.input.prompt,
          context: job.input.context ? JSON.stringify(job.input.context) : null,
          title: o.title,
          description: o.description,
          output: o.output,
        }
      : {}),
  };
  const columns = Object.keys(values);
  try {
    // Nor when the paying wallet's batch made its usage entry the generation's
    // row (docs/decisions/021, 025): a scan of that wallet's ledger, on this rare path only.
    await job.env.DB.prepare(
      `INSERT INTO generations (${columns.join(", ")}) SELECT ${columns.map(() => "?").join(", ")}
       WHERE NOT EXISTS (SELECT 1 FROM ledger_entries WHERE wallet_id = ? AND generation_id = ? AND generation_rollup = ${FOLDED})
       ON CONFLICT (id) DO NOTHING`,
    )
      .bind(...columns.map((c) => values[c] ?? null), job.walletId, job.generationId)
      .run();
  } catch (error) {
    log("error", "generate.record_failed", { generationId: job.generationId, error: String(error) });
  }
}
