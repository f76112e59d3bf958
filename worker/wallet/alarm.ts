import type { Book } from "./book";
import type { Faults } from "./faults";
import type { GrantMirror } from "./mirror";
import { RECORDS_UNSENT, UNSYNCED } from "./storage";

/** How long the alarm waits before retrying a D1 flush or a transfer credit. */
const RETRY_MS = 5_000;

/**
 * When the wallet wakes next: the earliest open hold deadline, grant expiry,
 * or retry of an outbox (entries, grant mirrors, finished generation records, credits). Times are wallet time (faults.ts can shift it in
 * tests); the runtime's alarm is set in real time.
 */
export class Alarm {
  /** The alarm as this object last set or read it (undefined: not read since start). */
  private at: number | null | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly book: Book,
    private readonly faults: Faults,
    private readonly grants?: GrantMirror,
  ) {}

  /** The alarm fired: it is spent, and the sweep it runs sets the next one. */
  spent(): void {
    this.at = null;
  }

  /** An injected outage: try again later, as after a real failure. */
  async retryLater(): Promise<void> {
    this.at = this.faults.now() + RETRY_MS;
    await this.ctx.storage.setAlarm(this.faults.toReal(this.at));
  }

  /**
   * Makes sure the alarm fires by `when`: reads the wallet again only when
   * the alarm this object set could be later (or is not known). The alarm
   * only ever moves earlier, and the sweep it runs reads everything, so an
   * alarm already set by `when` covers whatever is due after it.
   */
  async atMost(when: number): Promise<void> {
    if (this.at !== undefined && this.at !== null && this.at <= when) return;
    await this.schedule();
  }

  /** A D1 flush or a credit failed: the alarm retries it, unless it fires sooner anyway. */
  retrySoon(): Promise<void> {
    return this.atMost(this.faults.now() + RETRY_MS);
  }

  /** When dirty grants go to D1's mirror: its next refresh, or a retry if that is past. */
  mirrorAt(now = this.faults.now()): number {
    return Math.max(this.grants?.nextAt() ?? 0, now + RETRY_MS);
  }

  async schedule(): Promise<void> {
    const now = this.faults.now();
    // One read: the next deadline or expiry, and whether D1 or a credit needs a retry.
    const { due, retry, mirror } = this.book.sql
      .exec<{ due: number | null; retry: number; mirror: number }>(
        `SELECT (SELECT min(t) FROM (
                   SELECT min(deadline) AS t FROM holds WHERE status = 'open'
                   UNION ALL SELECT min(expires_at) FROM grants
                     WHERE expires_at IS NOT NULL AND remaining + held > 0)) AS due,
                EXISTS (SELECT 1 FROM ${UNSYNCED})
                  OR EXISTS (SELECT 1 FROM ${RECORDS_UNSENT})
                  OR EXISTS (SELECT 1 FROM credits) AS retry,
                EXISTS (SELECT 1 FROM grants WHERE mirror_dirty > 0) AS mirror`,
      )
      .one();
    // Dirty grants wait for the mirror's next refresh (mirror.ts); one already
    // due (D1 failed, or nothing flushed since) is retried like the outbox.
    const mirrorAt = mirror ? this.mirrorAt(now) : null;
    const candidates = [due, retry ? now + RETRY_MS : null, mirrorAt].filter((t): t is number => t !== null);
    if (candidates.length === 0) return;
    const when = Math.max(Math.min(...candidates), now);
    let current = this.at;
    if (current === undefined) {
      const real = await this.ctx.storage.getAlarm();
      current = real === null ? null : this.faults.fromReal(real);
    }
    // A past alarm is about to run: leave it be (re-setting it on every change
    // could starve it on a busy wallet). `spent` clears `at` so the sweep it
    // runs sets the next one.
    if (current === null || current > when) {
      await this.ctx.storage.setAlarm(this.faults.toReal(when));
      this.at = when;
    } else {
      this.at = current;
    }
  }
}
