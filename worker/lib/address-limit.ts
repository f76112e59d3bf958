/**
 * The per-address generation limit without a wait on the request path
 * (docs/decisions/022-hot-path-waits.md).
 *
 * The Workers Rate Limiting binding keeps the count every isolate in a
 * Cloudflare location shares. This isolate puts its own knowledge in front
 * of it, per address and per window (fixed windows on the clock, as the
 * binding's): how many requests it let through, and whether the binding has
 * said "over". Once it has heard the binding about an address, it decides at
 * once, from that knowledge, and hands the caller the binding's count of the
 * request to run later (the generate route runs it once the model's first
 * token is out, so the count never competes with the request's own path);
 * the binding's answer is there for the address's next requests. An address
 * it has never heard about waits for the binding, as before.
 *
 * So the limit is exact within one isolate (its own count refuses the
 * request past the limit), and across isolates it lags by the requests in
 * flight (counted once their first token is out) while the binding's "over"
 * travels back: the binding is approximate and per location anyway, and
 * this is a cap on abuse from one address. The limits that guard tokens are
 * the account's and the balance, exact, in the account's wallet object.
 */

/** The binding's surface (`RateLimit` in the Workers types). */
export interface Limiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

export type AddressVerdict =
  /** Decided here: allowed, or refused with how long until the window turns. */
  | { decided: true; ok: true }
  | { decided: true; ok: false; retryAfterMs: number }
  /** Not known here yet: the binding's answer decides. */
  | { decided: false; answer: Promise<boolean> };

interface Seen {
  window: number;
  /** Requests let through in this window by this isolate. */
  passed: number;
  /** The binding said "over" in this window. */
  over: boolean;
}

/** Addresses remembered at most; past it, finished windows are forgotten first, then everything. */
const MAX_ADDRESSES = 10_000;

export class AddressLimit {
  readonly #seen = new Map<string, Seen>();

  constructor(
    readonly limit: number,
    readonly periodMs: number,
  ) {}

  /**
   * Counts one request from `key` and says whether it may go on. When it is
   * decided here, `later` receives the binding's count of it, for the caller
   * to run when it suits (in the background: waitUntil).
   */
  check(
    limiter: Limiter,
    key: string,
    later: (count: () => Promise<boolean>) => void,
    now = Date.now(),
  ): AddressVerdict {
    const window = Math.floor(now / this.periodMs);
    const seen = this.#seen.get(key);
    const turnsIn = (window + 1) * this.periodMs - now;
    if (seen === undefined) {
      const answer = this.#ask(limiter, key, window, null);
      return { decided: false, answer };
    }
    if (seen.window !== window) {
      seen.window = window;
      seen.passed = 0;
      seen.over = false;
    }
    if (seen.over || seen.passed >= this.limit) return { decided: true, ok: false, retryAfterMs: turnsIn };
    seen.passed++;
    later(() => this.#ask(limiter, key, window, seen));
    return { decided: true, ok: true };
  }

  /** The binding counts the request; its answer is remembered for the window it was asked in. */
  async #ask(limiter: Limiter, key: string, window: number, counted: Seen | null): Promise<boolean> {
    let success: boolean;
    try {
      success = (await limiter.limit({ key })).success;
    } catch {
      // The limiter failing must not stop generations: the account's limit still holds.
      return true;
    }
    let seen = this.#seen.get(key) ?? counted;
    if (seen === null) {
      this.#forgetIfFull(window);
      seen = { window, passed: 0, over: false };
      this.#seen.set(key, seen);
    }
    if (seen.window === window) {
      if (!success) seen.over = true;
      else if (counted === null) seen.passed++;
    }
    return success;
  }

  #forgetIfFull(window: number) {
    if (this.#seen.size < MAX_ADDRESSES) return;
    for (const [key, seen] of this.#seen) if (seen.window < window) this.#seen.delete(key);
    if (this.#seen.size >= MAX_ADDRESSES) this.#seen.clear();
  }
}
