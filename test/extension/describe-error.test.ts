import { describe, expect, it } from "vitest";
import { describeError } from "@/panel/describeError";

const err = (status: number, code: string, message = "", extra: object = {}) => ({
  status,
  code,
  message,
  charged: 0,
  ...extra,
});

describe("describeError", () => {
  it("a shortage says how many were needed and offers buying", () => {
    expect(
      describeError(err(402, "insufficient_tokens", "x", { details: { required: 2, available: 1 } })),
    ).toEqual({ text: "Not enough tokens: this needs 2, you have 1. Nothing was charged.", action: "buy" });
  });

  it("a rate limit says when to try again", () => {
    expect(describeError(err(429, "rate_limited", "", { retryAfter: 12 })).text).toBe(
      "Too many requests right now. Try again in 12 s.",
    );
    expect(describeError(err(429, "rate_limited")).text).toContain("Try again shortly.");
  });

  it("a server failure tells what was charged for the part received", () => {
    expect(describeError(err(502, "upstream_error", "The model stopped.")).text).toBe(
      "The model stopped. Nothing was charged.",
    );
    expect(describeError({ ...err(502, "upstream_error", "Cut."), charged: 1 }).text).toBe(
      "Cut. 1 token was charged for the part received.",
    );
    expect(describeError({ ...err(500, "internal", ""), charged: 2 }).text).toBe(
      "MyBA had a problem. 2 tokens were charged for the part received.",
    );
  });

  it("each code gets its one way out", () => {
    expect(describeError(err(409, "idempotency_conflict")).action).toBe("new");
    expect(describeError(err(403, "sign_in_required", "Sign in to continue.")).action).toBe("signin");
    expect(describeError(err(403, "sign_in_required")).text).toBe("Sign in to continue.");
    expect(describeError(err(403, "feature_not_in_plan", "Needs Pro.")).action).toBe("buy");
    expect(describeError(err(400, "invalid_request", "Too short."))).toEqual({
      text: "Too short. Adjust the prompt and try again.",
      action: "none",
    });
    expect(describeError(err(0, "stream_interrupted", "Dropped.")).action).toBe("retry");
    expect(describeError(err(409, "request_in_progress")).text).toContain("still running");
  });
});
