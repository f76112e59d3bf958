// A generation's two visits to its account's object (docs/decisions/018): `admit`
// before the model is called, `finish` after. Each is one synchronous storage
// transaction inside Wallet; nothing here awaits.
import { holdIdFor } from "../lib/entries";
import type { Book } from "./book";
import { fail, insufficient, isFailure } from "./failures";
import { allocate, availableOf } from "./ledger";
import { type RecordStatus, recordById, recordByKey, toRecord } from "./records";
import type {
  AdmitArgs,
  AdmitOutcome,
  ChargeConfirmation,
  FinishArgs,
  FinishOutcome,
  WalletFailure,
} from "./types";

/** The `meta` key of the highest pricing revision this wallet admitted a generation at. */
const PRICING_REVISION = "pricing_revision";

/** The error code of a generation whose charge nobody heard; the cron confirms it (cron.ts). */
export const CHARGE_UNCONFIRMED = "charge_unconfirmed";

/** The error code a generation keeps once its charge is confirmed (as the cron's SQL sets it). */
export const confirmedErrorCode = (status: string) => (status === "cancelled" ? "client_closed" : null);

/** What admission needs to know about who asks (access.ts answers it from this object's own tables). */
export interface Gate {
  /** Null when the session may spend from this account; otherwise the refusal. */
  checkSession(sessionId: string, now: number): WalletFailure | null;
  /** The account's plan (null: no subscription). */
  plan(): string | null;
}

/**
 * Everything that decides a generation, in the order a user would expect
 * the answer: who asks, a key seen before (answered from its record, before
 * any limit counts it), a price older than one admitted here, the account's
 * rate limit, the feature's plans, the balance. On success the hold
 * (personal only: a team's object holds for a team generation) and the
 * pending record are written together, so a crash
 * leaves both or neither. A refusal writes nothing but the rate limit's
 * count, which is what a limit is for.
 */
export function admit(book: Book, gate: Gate, args: AdmitArgs, now: number): AdmitOutcome {
  const sql = book.sql;
  const denied = gate.checkSession(args.session.id, now);
  if (denied) return denied;
  const prior = recordByKey(sql, args.key);
  if (prior) return { ok: true, admitted: false, record: toRecord(args.session.accountId, prior) };
  // Prices only move forward for this wallet: an isolate that has not heard
  // of a change this wallet was already charged at reads it again (the route
  // retries once, fresh from D1). Refused before any limit counts it.
  const seenRevision = Number(book.meta(PRICING_REVISION) ?? 0);
  if (args.price.revision < seenRevision && !args.price.fresh) {
    return fail("pricing_stale", "The price changed since this server read it.");
  }

  const limited = takeRate(sql, `generate:acc:${args.session.accountId}`, args.limit, now);
  if (limited !== null) {
    return { ...fail("rate_limited", "Too many generations."), retryAfterMs: limited };
  }
  if (args.price.plans !== null && !args.price.plans.includes(gate.plan() ?? "")) {
    return {
      ...fail("feature_not_in_plan", "Your plan does not include this feature."),
      plans: args.price.plans,
    };
  }

  const held = args.price.held;
  let holdId: string | null = null;
  if (args.teamId === null) {
    const grants = book.expireDue(now);
    const allocations = allocate(grants, held, now);
    if (!allocations) return insufficient(held, availableOf(grants, now));
    holdId = book.placeHold(
      // The hold shares the generation id's rest, so D1 need not store it (lib/entries.ts).
      { amount: held, ttlMs: args.ttlMs, reference: args.generationId, id: holdIdFor(args.generationId) },
      allocations,
      now,
    ).holdId;
  }
  if (args.price.revision > seenRevision) book.setMeta(PRICING_REVISION, String(args.price.revision));
  const r = args.request;
  sql.exec(
    `INSERT INTO generations (id, session_id, idempotency_key, request_hash, wallet_id, hold_id, site, feature,
       issue_type, prompt, context, status, held, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
    args.generationId,
    args.session.id,
    args.key,
    args.requestHash,
    args.teamId,
    holdId,
    r.site,
    r.feature,
    r.issueType,
    r.prompt,
    r.context ? JSON.stringify(r.context) : null,
    held,
    now,
  );
  return { ok: true, admitted: true, generationId: args.generationId, holdId, held };
}

/**
 * Undoes an admission the other side refused (a team's reserve): the pending
 * record goes, so the key can be used again, and its hold (if any) is released.
 */
export function withdraw(book: Book, generationId: string, now: number): void {
  const record = recordById(book.sql, generationId);
  if (record?.status !== "pending") return;
  if (record.hold_id) {
    const hold = book.hold(record.hold_id);
    if (!isFailure(hold) && hold.status === "open") book.endHold(hold, 0, "voided", now);
  }
  book.sql.exec("DELETE FROM generations WHERE id = ?", generationId);
}

/**
 * Closes a generation: settles its hold to `charge` (released whole when
 * nothing is owed, free when the hold's deadline passed) and completes the
 * record, whose metadata the outbox then sends to D1 with the usage entry.
 * A record already complete answers what it recorded: a retry charges once.
 */
export function finish(book: Book, args: FinishArgs, now: number): FinishOutcome {
  const record = recordById(book.sql, args.generationId);
  if (!record) return fail("invalid_request", "No such generation.");
  if (record.status !== "pending") {
    return { ok: true, charged: record.charged, holdId: record.hold_id, replayed: true };
  }
  const o = args.outcome;
  // A team generation (no hold here): the team's object settled, and this
  // records what it said (marked unconfirmed by the caller when it said nothing).
  let charged = args.charge;
  if (record.hold_id !== null) {
    const hold = book.hold(record.hold_id);
    if (isFailure(hold)) return hold;
    charged = 0;
    if (hold.status === "open") {
      if (args.charge > 0 && hold.deadline > now) {
        charged = Math.min(args.charge, hold.amount);
        book.endHold(hold, charged, "settled", now, {
          description: args.description,
          feature: record.feature,
          generationId: record.id,
          reference: record.id,
        });
      } else {
        // Past its deadline the hold is released, as the alarm would: the ticket is free.
        book.endHold(hold, 0, args.charge > 0 ? "expired" : "voided", now);
      }
    }
  }
  const status: RecordStatus = o.status;
  book.sql.exec(
    `UPDATE generations SET status = ?, charged = ?, title = ?, description = ?, output = ?, model = ?,
       upstream_id = ?, error_code = ?, input_tokens = ?, output_tokens = ?, cost_usd = ?, first_delta_ms = ?,
       latency_ms = ?, completed_at = ?, d1_synced = ?
     WHERE id = ?`,
    status,
    charged,
    o.title,
    o.description,
    o.output,
    o.model,
    o.upstreamId,
    o.errorCode,
    o.inputTokens,
    o.outputTokens,
    o.costUsd,
    o.firstDeltaMs,
    o.latencyMs,
    now,
    // A team's usage entry that carries the generation is its D1 row (decision 025).
    record.hold_id === null && args.carried === true ? 1 : 0,
    record.id,
  );
  return { ok: true, charged, holdId: record.hold_id };
}

/**
 * The cron's confirmation of a charge nobody heard (a team's settle): the
 * record takes the charge the ledger shows. D1 already has it (the cron wrote
 * it there), so the record is not queued again.
 */
export function confirmed(sql: SqlStorage, c: ChargeConfirmation): void {
  sql.exec(
    "UPDATE generations SET charged = ?, error_code = ? WHERE id = ? AND error_code = ?",
    c.charged,
    c.errorCode,
    c.generationId,
    CHARGE_UNCONFIRMED,
  );
}

/**
 * The per-account limit: GCRA (the "generic cell rate algorithm") over the
 * object's `rate_limits`, the same rule worker/lib/rate-limit.ts keeps in D1
 * for other routes: one theoretical arrival time per key, bursts up to the
 * limit, no window edge to fire twice the limit across. Exact, because every
 * request of the account passes through this one object. Returns null when
 * allowed (and counts it), else the wait before the next one would be.
 */
export function takeRate(
  sql: SqlStorage,
  key: string,
  limit: { limit: number; periodMs: number },
  now: number,
): number | null {
  const interval = limit.periodMs / limit.limit;
  const tat = sql.exec<{ tat: number }>("SELECT tat FROM rate_limits WHERE key = ?", key).toArray()[0]?.tat;
  const next = Math.max(tat ?? now, now) + interval;
  if (next - now > limit.periodMs) return Math.max(0, next - limit.periodMs - now);
  sql.exec(
    "INSERT INTO rate_limits (key, tat) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET tat = excluded.tat",
    key,
    next,
  );
  return null;
}
