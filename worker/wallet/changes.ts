// How a wallet call changes the books: its effect, idempotency record and
// ledger entries in one storage transaction, then the aftermath (pending
// credits delivered, the outbox pushed to D1, the alarm set) before it answers.
import type { Alarm } from "./alarm";
import type { Book } from "./book";
import { fail } from "./failures";
import type { Faults } from "./faults";
import { type Effect, type OpResult, priorCall, type RecordPlace } from "./idempotency";
import type { Outbox } from "./outbox";
import { canonicalJson } from "./schemas";
import type { Tokens, WalletFailure } from "./types";

/** The transaction and its aftermath, over the object's books, outbox and alarm. */
export class Changes {
  constructor(
    readonly ctx: DurableObjectState,
    readonly book: Book,
    readonly outbox: Outbox,
    readonly alarms: Alarm,
    readonly faults: Faults,
  ) {}

  /**
   * Runs `effect` in one storage transaction with its idempotency record.
   * The same key with the same arguments returns the stored result; with
   * other arguments it is refused. Refusals are not stored, so an operation
   * refused for want of tokens can succeed under the same key later. A
   * record kept in the hold row (`place`: reserve, settle) is written by the
   * effect, with the hold; any other goes to `ops` here.
   */
  run<T extends object>(
    opKey: string,
    args: object,
    effect: Effect<T>,
    place: RecordPlace = { in: "ops" },
  ): { outcome: OpResult<T> & { replayed?: boolean }; appended: boolean; tokens?: Tokens } {
    const fingerprint = canonicalJson(args);
    const before = this.book.appended;
    let tokens: Tokens | undefined;
    const outcome = this.transaction(() => {
      const { prior, hold, grants } = priorCall(this.book, opKey, place);
      if (prior) {
        if (prior.fingerprint !== fingerprint) {
          return fail("idempotency_conflict", "This idempotency key was already used with other arguments.");
        }
        return { ...(prior.result() as OpResult<T>), replayed: true };
      }
      const now = this.faults.now();
      const result = effect(now, hold, { fingerprint }, grants);
      if (result.ok && place.in === "ops") {
        this.book.sql.exec(
          "INSERT INTO ops VALUES (?, ?, ?, ?)",
          opKey,
          fingerprint,
          JSON.stringify(result),
          now,
        );
      }
      // The balance the answer carries, read once; it also checks that no grant went negative.
      tokens = this.book.tokens(true);
      return result;
    });
    return { outcome, appended: this.book.appended !== before, tokens };
  }

  /** One storage transaction; a rollback forgets what the books had learnt in memory inside it. */
  transaction<R>(body: () => R): R {
    try {
      return this.ctx.storage.transactionSync(body);
    } catch (error) {
      this.book.debtsMaybe = true;
      this.book.nextExpiry = undefined;
      throw error;
    }
  }

  /**
   * Runs `run`, then answers. `wake` says when the change needs the alarm by
   * (reserve: its hold's deadline; settle: the grant mirror's refresh): the
   * alarm is then re-read only if it could be too late; without it, always.
   */
  async change<T extends object>(
    opKey: string,
    args: object,
    effect: Effect<T>,
    wake?: (outcome: OpResult<T>) => number | null,
    place?: RecordPlace,
  ) {
    const { outcome, appended, tokens } = this.run(opKey, args, effect, place);
    const answer = await this.reply(outcome, appended, tokens, wake?.(outcome));
    this.faults.maybeLoseAnswer(opKey);
    return answer;
  }

  /**
   * Answers once the change is on its way: if it wrote ledger entries, waits
   * for the flush (so the caller can read its entry from D1 at once while D1
   * is up), then attaches the balance as the change left it.
   */
  async reply<R extends { ok: boolean }>(
    outcome: R,
    appended: boolean,
    tokens?: Tokens,
    wake?: number | null,
  ): Promise<R & { tokens: Tokens }> {
    if (appended) await this.afterChange(wake);
    else if (outcome.ok) await this.alarmBy(wake);
    return { ...outcome, tokens: tokens ?? this.book.tokens() };
  }

  /** A refusal before anything ran, with the balance attached. */
  refuse(failure: WalletFailure): WalletFailure & { tokens: Tokens } {
    return { ...failure, tokens: this.book.tokens() };
  }

  /** After a committed change: deliver pending credits, push the outbox to D1, set the next alarm. */
  async afterChange(wake?: number | null): Promise<void> {
    if (this.book.creditsMaybe) {
      if (this.book.count("SELECT count(*) AS n FROM credits") > 0) await this.outbox.deliverCredits();
      else this.book.creditsMaybe = false;
    }
    await this.outbox.flush(true);
    // A credit still owed needs its retry; a failed flush set its own (Outbox.onFailure).
    await this.alarmBy(this.book.creditsMaybe ? undefined : wake);
  }

  /** Sets the alarm for what a change needs: by `wake`, nothing new (null), or whatever is due (undefined). */
  private async alarmBy(wake?: number | null): Promise<void> {
    if (wake === undefined) await this.alarms.schedule();
    else if (wake !== null) await this.alarms.atMost(wake);
  }
}
