import type { HoldRow } from "./storage";
import type { FailureCode, WalletFailure } from "./types";

/** A hold looked up, or the refusal that it is not there. */
export function isFailure(x: HoldRow | WalletFailure): x is WalletFailure {
  return x.ok === false;
}

/** The wallet's refusals: each one a code callers map to HTTP (docs/api.md). */
export function fail(code: FailureCode, message: string): WalletFailure {
  return { ok: false, code, message };
}

export function invalid(message: string): WalletFailure {
  return fail("invalid_request", message);
}

export function insufficient(required: number, available: number): WalletFailure {
  return {
    ok: false,
    code: "insufficient_tokens",
    message: "Not enough tokens for this request.",
    required,
    available,
  };
}

export function holdExpired(): WalletFailure {
  return fail("hold_expired", "The hold passed its deadline and was released.");
}

/** A member's monthly limit would be passed: `spent` is what they burned this month, `held` what is in flight. */
export function memberLimitReached(m: {
  limit: number;
  spent: number;
  held: number;
  required: number;
  resetsAt: string;
}): WalletFailure {
  return {
    ok: false,
    code: "member_limit_reached",
    message: "This request would pass your monthly limit on the team's tokens.",
    ...m,
  };
}
