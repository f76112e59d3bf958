import { drivePendingEvents } from "./billing/events";
import type { Env } from "./env";
import { log } from "./lib/log";
import { pruneRateLimits } from "./lib/rate-limit";
import { CHARGE_UNCONFIRMED, HOLD_TTL_MS } from "./routes/generate";
import { wallet } from "./wallet/client";
import { reconcile } from "./wallet/reconcile";

/** A generation still pending this long after it began has lost its Worker; its hold is overdue. */
const STALE_GENERATION_MS = 2 * HOLD_TTL_MS;
/** Several cron runs' worth, so one missed run loses nothing. */
const LOOKBACK_MS = 2 * 86_400_000;
const SWEEP_LIMIT = 500;
const PARALLEL = 8;

/**
 * The cron trigger (wrangler.toml `[triggers]`): a safety net under the
 * wallets' own alarms, then the ledger check. Each wallet's alarm already voids
 * overdue holds, expires grants and retries its D1 outbox; the cron sweeps the
 * wallets where D1 says a hold is overdue (an alarm that never ran), then
 * reconciles the wallets that changed since their last clean check plus a
 * rotating sample of the rest (worker/wallet/reconcile.ts), and logs the
 * result for Workers Logs to alert on.
 * Housekeeping rides along: Stripe events whose wallet step failed after
 * Stripe stopped redelivering them are finished, and drained rate-limit rows
 * are dropped; a failure there is logged in the line and does not stop the
 * reconcile.
 */
export async function runScheduled(env: Env, now = Date.now()) {
  const started = Date.now();
  const { clean, ...swept } = await sweepOverdue(env, now);
  const confirmed = await confirmCharges(env, now, clean);
  const stripeEvents = await drivePendingEvents(env).catch((error: unknown) => ({ error: String(error) }));
  const rateLimits = await pruneRateLimits(env.DB, now).then(
    (pruned) => ({ pruned }),
    (error: unknown) => ({ error: String(error) }),
  );
  const result = await reconcile(env);
  log(result.ok ? "info" : "error", "cron.reconcile", {
    ok: result.ok,
    accounts: result.accounts,
    changed: result.changed,
    sampled: result.sampled,
    mismatches: result.mismatches,
    errors: result.errors,
    pending: result.pending,
    swept,
    confirmed,
    stripeEvents,
    rateLimits,
    ms: Date.now() - started,
  });
  return { swept, confirmed, stripeEvents, rateLimits, reconcile: result };
}

/**
 * Wallets with a generation still pending long after its hold's deadline: the
 * Worker that made it is gone, and if the wallet's alarm did not run either,
 * its tokens stay held. Also the wallets of generations whose settle never got
 * an answer (`confirmCharges`). (Expired grants need no help: every balance
 * read expires them.) Only recent generations are looked at, through the
 * partial index of open rows (generations_open_idx: its condition is spelled
 * out as literals so the planner can use it): older ones were swept by
 * earlier runs. `clean` lists the
 * wallets swept with every ledger entry in D1.
 */
async function sweepOverdue(env: Env, now: number) {
  const { results } = await env.DB.prepare(
    `SELECT DISTINCT coalesce(wallet_id, account_id) AS id FROM generations
     WHERE created_at BETWEEN ?1 AND ?2 AND (status = 'pending' OR error_code = '${CHARGE_UNCONFIRMED}') LIMIT ?3`,
  )
    .bind(now - LOOKBACK_MS, now - STALE_GENERATION_MS, SWEEP_LIMIT)
    .all<{ id: string }>();
  // Totals of whatever the wallets report (voided holds, expired grants…).
  const totals: Record<string, number> = {};
  const clean: string[] = [];
  let failed = 0;
  for (let i = 0; i < results.length; i += PARALLEL) {
    await Promise.all(
      results.slice(i, i + PARALLEL).map(async ({ id }) => {
        try {
          const r: Record<string, unknown> = { ...(await wallet(env, id).sweep()) };
          if (r.unsynced === 0) clean.push(id);
          for (const [k, v] of Object.entries(r)) {
            if (typeof v === "number") totals[k] = (totals[k] ?? 0) + v;
          }
        } catch (error) {
          failed++;
          log("warn", "cron.sweep_failed", { walletId: id, error: String(error) });
        }
      }),
    );
  }
  return { wallets: results.length, ...totals, failed, clean };
}

/**
 * Generations whose settle got no answer record the charge they asked for,
 * marked unconfirmed. Past the hold's deadline the wallet has either settled
 * it (a usage entry for the generation) or released it, so the ledger says
 * what was charged; only wallets whose ledger is all in D1 are read.
 */
async function confirmCharges(env: Env, now: number, wallets: string[]) {
  let confirmed = 0;
  for (let i = 0; i < wallets.length; i += 50) {
    const batch = wallets.slice(i, i + 50);
    const r = await env.DB.prepare(
      `UPDATE generations SET
         charged = coalesce((SELECT -sum(l.amount) FROM ledger_entries l
           WHERE l.wallet_id = coalesce(generations.wallet_id, generations.account_id)
             AND l.generation_id = generations.id
             AND l.type = 'usage'), 0),
         error_code = CASE status WHEN 'cancelled' THEN 'client_closed' END
       WHERE error_code = '${CHARGE_UNCONFIRMED}' AND created_at BETWEEN ?1 AND ?2
         AND coalesce(wallet_id, account_id) IN (${batch.map((_, j) => `?${j + 3}`).join(", ")})
       RETURNING id, account_id, charged, error_code`,
    )
      .bind(now - LOOKBACK_MS, now - STALE_GENERATION_MS, ...batch)
      .all<{ id: string; account_id: string; charged: number; error_code: string | null }>();
    // The rows themselves: D1's change count includes what the stats triggers write.
    confirmed += r.results.length;
    // The record in the requester's object says the same (a team's charge
    // was unconfirmed there too); history reads it from there.
    await Promise.all(
      r.results.map((row) =>
        wallet(env, row.account_id)
          .confirmed({ generationId: row.id, charged: row.charged, errorCode: row.error_code })
          .catch((error: unknown) =>
            log("warn", "cron.confirm_record_failed", { id: row.id, error: String(error) }),
          ),
      ),
    );
  }
  return confirmed;
}
