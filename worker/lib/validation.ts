import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import { z } from "zod";
import { ApiError } from "./errors";

/** zod issues in the contract's shape: `[{path, message}]`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]) {
  return issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(body)",
    message: issue.message,
  }));
}

/**
 * `@hono/zod-validator` whose failures become `400 invalid_request` with the
 * zod issues. Malformed JSON is caught earlier by `onError` (Hono throws an
 * HTTPException for it), so it is a 400 too, never a 500.
 */
export const validate = <T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
) =>
  zValidator(target, schema, (result) => {
    if (!result.success) {
      throw new ApiError(400, "invalid_request", "The request is not valid.", {
        issues: formatIssues(result.error.issues),
      });
    }
  });

/**
 * The Idempotency-Key every route that takes one reads (docs/api.md): 8 to 128
 * printable ASCII characters without spaces.
 */
export const idempotencyKey = z
  .string({ error: "The Idempotency-Key header is required." })
  .min(8, "The Idempotency-Key must be 8 to 128 characters.")
  .max(128, "The Idempotency-Key must be 8 to 128 characters.")
  .regex(/^[\x21-\x7e]+$/, "The Idempotency-Key must be printable ASCII without spaces.");

/** A required Idempotency-Key header, for `validate("header", …)`. */
export const idempotencyKeyHeader = z.object({ "idempotency-key": idempotencyKey });

/** An optional Idempotency-Key header: absent, every call is its own; present, a retry replays. */
export const optionalIdempotencyKeyHeader = z.object({ "idempotency-key": idempotencyKey.optional() });
