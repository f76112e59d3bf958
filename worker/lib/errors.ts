import type { ContentfulStatusCode } from "hono/utils/http-status";

/** The contract's error codes (docs/api.md, "Conventions"). */
export type ErrorCode =
  | "invalid_request"
  | "unauthorized"
  | "sign_in_required"
  | "forbidden"
  | "feature_not_in_plan"
  | "account_blocked"
  | "not_found"
  | "method_not_allowed"
  | "insufficient_tokens"
  | "member_limit_reached"
  | "idempotency_conflict"
  | "request_in_progress"
  | "already_member"
  | "last_owner"
  | "already_redeemed"
  | "payload_too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "internal_error"
  | "upstream_error"
  | "unavailable";

/**
 * The one error type routes throw. `onError` turns it into
 * `{"error": {"code", "message", ...details}}` with its status.
 */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  toBody() {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export const notFound = (what = "That resource") => new ApiError(404, "not_found", `${what} was not found.`);

export const forbidden = (message = "You are not allowed to do that.") =>
  new ApiError(403, "forbidden", message);

export const unauthorized = (message = "A valid session token is required.") =>
  new ApiError(401, "unauthorized", message);
