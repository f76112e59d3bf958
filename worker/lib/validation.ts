import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { z } from "zod";
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
