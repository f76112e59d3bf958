import type { Context } from "hono";
import { z } from "zod";
import { recordAudit } from "../../admin/audit";
import { db } from "../../db/client";
import { ApiError } from "../../lib/errors";
import { optionalIdempotencyKeyHeader, validate } from "../../lib/validation";
import { wallet } from "../../wallet/client";
import type { AdminEnv } from "./auth";

/** Large enough for any real correction, small enough that a typo of extra zeros is refused. */
export const MAX_ADJUSTMENT = 1_000_000;

const adjustBody = z.object({
  amount: z
    .number()
    .int()
    .min(-MAX_ADJUSTMENT)
    .max(MAX_ADJUSTMENT)
    .refine((n) => n !== 0, "The amount must not be zero."),
  reason: z.string().trim().min(1).max(500),
});

/** The validators an adjust route runs before `adjustWallet` (header, then body). */
export const adjustInput = [
  validate("header", optionalIdempotencyKeyHeader),
  validate("json", adjustBody),
] as const;

type AdjustContext = Context<
  AdminEnv,
  string,
  {
    in: { header: z.input<typeof optionalIdempotencyKeyHeader>; json: z.input<typeof adjustBody> };
    out: { header: z.output<typeof optionalIdempotencyKeyHeader>; json: z.output<typeof adjustBody> };
  }
>;

/**
 * An audited admin adjustment of one wallet (an account's or a team's): the
 * same rules for both. Without an Idempotency-Key every call is its own
 * adjustment; with one, a retry is a replay.
 */
export async function adjustWallet(
  c: AdjustContext,
  walletId: string,
  action: "account.adjust" | "team.adjust",
) {
  const { amount, reason } = c.req.valid("json");
  const key = c.req.valid("header")["idempotency-key"] ?? `req:${crypto.randomUUID()}`;
  const r = await wallet(c.env, walletId).adjust({ key: `admin:${key}`, amount, reason });
  if (!r.ok) {
    if (r.code === "idempotency_conflict") {
      throw new ApiError(409, "idempotency_conflict", "This Idempotency-Key was used with another body.");
    }
    throw new ApiError(400, "invalid_request", r.message, {
      issues: [{ path: "amount", message: r.message }],
    });
  }
  await recordAudit(db(c.env.DB), {
    actor: c.var.adminActor,
    action,
    target: walletId,
    before: { available: r.tokens.available - r.adjusted, balance: r.tokens.balance - r.adjusted },
    after: {
      available: r.tokens.available,
      balance: r.tokens.balance,
      requested: amount,
      adjusted: r.adjusted,
      reason,
    },
    key: `adjust:${walletId}:${key}`,
    requestId: c.var.requestId,
  });
  return c.json({ adjusted: r.adjusted, tokens: r.tokens, ...(r.replayed ? { replayed: true } : {}) });
}
