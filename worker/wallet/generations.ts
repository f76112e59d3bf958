// The bodies of a generation's RPCs on its account's object (docs/decisions/018):
// admit before the model, finish after, withdraw and confirmed when the team's
// side or the cron has the last word. Each checks its arguments, runs the
// transaction admission.ts holds and answers with the balance; wallet.ts binds
// the object and calls these.
import type { Access } from "./access";
import * as admission from "./admission";
import type { Changes } from "./changes";
import * as schemas from "./schemas";
import { check } from "./schemas";
import type { AdmitArgs, AdmitResult, ChargeConfirmation, FinishArgs, FinishResult, Tokens } from "./types";

/**
 * Every check of a generation and its hold in one transaction: session,
 * idempotency key, rate limit, plan, balance; the pending record with the
 * prompt. The one round trip before the model (docs/decisions/018).
 */
export async function admit(c: Changes, access: Access, args: AdmitArgs): Promise<AdmitResult> {
  const bad = check(schemas.admitArgs, args);
  if (bad) return c.refuse(bad);
  // Who asks, loaded from D1 only the first time this object sees them (access.ts).
  await access.ensureSession(args.session, c.faults.now());
  const before = c.book.appended;
  let tokens: Tokens | undefined;
  const outcome = c.transaction(() => {
    const result = admission.admit(c.book, access, args, c.faults.now());
    // The balance the answer carries, read once; it also checks that no grant went negative.
    tokens = c.book.tokens(true);
    return result;
  });
  // Entries written here are grant expiries: D1 gets them after the answer, not before.
  if (c.book.appended !== before) void c.afterChange().catch(() => undefined);
  // The new hold's deadline is all this adds for the alarm (as a reserve's).
  else if (outcome.ok && outcome.admitted) await c.alarms.atMost(c.faults.now() + args.ttlMs);
  const sessionExpiresAt = access.sessionExpiry(args.session.id) ?? 0;
  return { ...outcome, tokens: tokens ?? c.book.tokens(), sessionExpiresAt };
}

/**
 * Settles or voids a generation's hold and completes its record; the
 * record's D1 row goes out in the outbox batch of the usage entry. A retry
 * answers what the first call recorded.
 */
export async function finish(c: Changes, args: FinishArgs): Promise<FinishResult> {
  const bad = check(schemas.finishArgs, args);
  if (bad) return c.refuse(bad);
  let tokens: Tokens | undefined;
  const outcome = c.transaction(() => {
    const result = admission.finish(c.book, args, c.faults.now());
    tokens = c.book.tokens(true);
    return result;
  });
  if (outcome.ok && !outcome.replayed) c.outbox.recordFinished();
  // As for settle: nothing comes due sooner but the refresh of the grant mirror.
  await c.afterChange(c.alarms.mirrorAt());
  // The fault hook treats a generation's settle as the settle it is.
  if (outcome.ok && outcome.holdId) c.faults.maybeLoseAnswer(`settle:${outcome.holdId}`);
  return { ...outcome, tokens: tokens ?? c.book.tokens() };
}

/** Undoes an admission the team's side refused: the record goes, its hold (if any) is released. */
export function withdraw(c: Changes, args: { walletId: string; generationId: string }): { tokens: Tokens } {
  const bad = check(schemas.withdrawArgs, args);
  if (bad) throw new Error(bad.message);
  const tokens = c.transaction(() => {
    admission.withdraw(c.book, args.generationId, c.faults.now());
    return c.book.tokens(true);
  });
  return { tokens };
}

/** A charge the cron confirmed from the ledger (cron.ts): the record takes what D1 now says. */
export function confirmed(c: Changes, args: ChargeConfirmation & { walletId: string }): void {
  const bad = check(schemas.confirmedArgs, args);
  if (bad) throw new Error(bad.message);
  admission.confirmed(c.book.sql, args);
}
