import { type ApiErrorInfo, SIGN_IN_REQUIRED } from "@/lib/api";
import { tokenCount } from "@/lib/format";
import { resetDay } from "./wallet";

/** What a notice offers after an error. */
export type ErrorAction = "retry" | "new" | "buy" | "signin" | "personal" | "none";

export interface ErrorSituation {
  /** `navigator.onLine`: a failed request is the user's network, not MyBA's server. */
  online: boolean;
  /** The team that was paying, for `member_limit_reached`. */
  teamName?: string;
}

export interface ErrorDescription {
  text: string;
  action: ErrorAction;
}

/** A failed generation in words a user can act on, and the one way out it offers. */
export function describeError(
  error: ApiErrorInfo & { charged: number },
  situation: ErrorSituation = { online: true },
): ErrorDescription {
  const d = error.details ?? {};
  switch (error.code) {
    case "insufficient_tokens": {
      const required = Number(d.required ?? 0);
      const available = Number(d.available ?? 0);
      return {
        text: `Not enough tokens: this needs ${required}, you have ${available}. Nothing was charged.`,
        action: "buy",
      };
    }
    case "rate_limited":
      return {
        text: `Too many requests right now.${error.retryAfter ? ` Try again in ${error.retryAfter} s.` : " Try again shortly."}`,
        action: "retry",
      };
    case "network_error":
      return { text: `${unreachable(situation.online)} Nothing was charged.`, action: "retry" };
    case "member_limit_reached": {
      const limit = Number(d.limit ?? 0);
      const spent = Number(d.spent ?? limit);
      const team = situation.teamName ? `${situation.teamName}'s` : "the team's";
      return {
        text: `You have used your monthly limit on ${team} tokens (${spent} of ${limit}). Ask a team owner or admin to raise it; it resets on ${resetDay(typeof d.resetsAt === "string" ? d.resetsAt : undefined)}. Nothing was charged.`,
        action: "personal",
      };
    }
    case "stream_interrupted":
      return { text: error.message, action: "retry" };
    case "request_in_progress":
      return {
        text: "This generation is still running on the server. Retry in a moment to get its result.",
        action: "retry",
      };
    case "idempotency_conflict":
      return {
        text: "This generation was already sent with different input. Start a new one.",
        action: "new",
      };
    case SIGN_IN_REQUIRED:
      // Signed out for good on this browser, or a feature kept for accounts: either way, sign in.
      return { text: error.message || "Sign in to continue.", action: "signin" };
    case "feature_not_in_plan":
      return { text: error.message, action: "buy" };
    case "invalid_request":
    case "payload_too_large":
      return { text: `${error.message} Adjust the prompt and try again.`, action: "none" };
    default:
      if (error.status >= 500 || error.status === 0) {
        return {
          text: `${error.message || "MyBA had a problem."} ${chargedNote(error.charged)}`,
          action: "retry",
        };
      }
      return { text: error.message, action: "retry" };
  }
}

/** Why a request found no server: the user's network, or MyBA's server. */
export function unreachable(online: boolean): string {
  return online
    ? "MyBA's server is unreachable right now. Try again in a moment."
    : "You are offline. Reconnect to the internet, then retry.";
}

function chargedNote(charged: number): string {
  if (charged <= 0) return "Nothing was charged.";
  return `${tokenCount(charged)} ${charged === 1 ? "was" : "were"} charged for the part received.`;
}
