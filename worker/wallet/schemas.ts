import { z } from "zod";
import { LEDGER_TYPES } from "../db/schema/ledger";
import { fail, invalid } from "./failures";
import { GRANT_SOURCES } from "./ledger";
import type { WalletFailure } from "./types";

/**
 * zod schemas for every RPC argument, checked at the object's boundary before
 * anything is read or written. A failure on `amount` is `invalid_amount`,
 * any other is `invalid_request`; the first failing field (in the order of
 * each shape) names the message.
 */

/** Largest single amount accepted: sums stay exact in a double and in SQLite. */
export const MAX_AMOUNT = 1_000_000_000;
export const MAX_TTL_MS = 24 * 60 * 60 * 1000;

const key = z.string().min(1).max(256);
const text = z.string().max(500);
const optionalText = z.string().optional();
const tokens = z.number().int().positive().max(MAX_AMOUNT);

const FIELD_MESSAGES: Record<string, string> = {
  key: "An idempotency key of 1 to 256 characters is required.",
  description: "description must be text of at most 500 characters.",
  reason: "reason must be text of at most 500 characters.",
  source: "Unknown grant source.",
  type: "Unknown entry type.",
  expiresAt: "expiresAt must be a time in epoch milliseconds.",
  ttlMs: "ttlMs must be between 1 second and 24 hours.",
  holdId: "holdId is required.",
  to: "A target wallet is required.",
  member: "member must be { accountId, monthlyLimit: a whole number of tokens or null }.",
  plans: "plans must be a list of plan ids or null.",
  session: "session must be { id, accountId, kind }.",
  request: "request must be a generation's site, feature, issueType, prompt and context.",
  price: "price must be { held, plans, version }.",
  charge: "charge must be a whole number of tokens, 0 or more.",
  outcome: "outcome must describe how the generation ended.",
  accountIds: "accountIds must be a list of account ids.",
  reference: "reference must be text.",
  feature: "feature must be text.",
  generationId: "generationId must be text.",
  partial: "partial must be true or false.",
  grantIds: "grantIds must be a list of grant ids.",
  owe: "owe must be true or false.",
  keys: "keys must be a list of at most 100 idempotency keys.",
};

export const grantArgs = z.object({
  key,
  amount: tokens,
  description: text,
  source: z.enum(GRANT_SOURCES),
  type: z.enum(LEDGER_TYPES).optional(),
  expiresAt: z.number().int().nullish(),
  reference: optionalText,
});

const monthlyLimit = z.number().int().min(0).max(MAX_AMOUNT).nullable();

export const memberArgs = z.object({
  accountId: z.string().min(1).max(128),
  // Absent: the wallet's own members decide (access.ts).
  monthlyLimit: monthlyLimit.optional(),
});

const plans = z.array(z.string().min(1).max(64)).max(50).nullable();
const id = z.string().min(1).max(128);

export const reserveArgs = z.object({
  key,
  amount: tokens,
  ttlMs: z.number().int().min(1000).max(MAX_TTL_MS),
  reference: optionalText,
  member: memberArgs.optional(),
  plans: plans.optional(),
  generationId: id.optional(),
});

const field = z.string().max(100_000);

export const admitArgs = z.object({
  session: z.object({
    id,
    accountId: id,
    kind: z.enum(["anonymous", "user"]),
    resumed: z.boolean().optional(),
  }),
  generationId: id,
  key,
  requestHash: z.string().min(1).max(128),
  request: z.object({
    site: z.string().min(1).max(32),
    feature: z.string().min(1).max(32),
    issueType: z.string().min(1).max(32),
    prompt: field.min(1),
    context: z.record(z.string().max(32), field).nullable(),
  }),
  price: z.object({
    held: tokens,
    plans,
    version: z.string().min(1).max(64),
    revision: z.number().int().min(0),
    fresh: z.boolean(),
  }),
  teamId: id.nullable(),
  limit: z.object({ limit: z.number().int().positive(), periodMs: z.number().int().positive() }),
  ttlMs: z.number().int().min(1000).max(MAX_TTL_MS),
});

const nullableText = field.nullable();
const nullableCount = z.number().int().min(0).nullable();

export const finishArgs = z.object({
  generationId: id,
  charge: z.number().int().min(0).max(MAX_AMOUNT),
  description: text,
  carried: z.boolean().optional(),
  outcome: z.object({
    status: z.enum(["succeeded", "failed", "cancelled"]),
    title: nullableText,
    description: nullableText,
    output: field,
    model: nullableText,
    upstreamId: nullableText,
    errorCode: z.string().max(64).nullable(),
    inputTokens: nullableCount,
    outputTokens: nullableCount,
    costUsd: z.number().min(0).nullable(),
    firstDeltaMs: nullableCount,
    latencyMs: z.number().int().min(0),
  }),
});

export const withdrawArgs = z.object({ generationId: id });

export const confirmedArgs = z.object({
  generationId: id,
  charged: z.number().int().min(0).max(MAX_AMOUNT),
  errorCode: z.string().max(64).nullable(),
});

export const settleArgs = z.object({
  holdId: z.string(),
  description: text,
  amount: z.number().int().min(0),
  feature: optionalText,
  generationId: optionalText,
  reference: optionalText,
  generation: z
    .object({
      accountId: id,
      sessionId: id,
      site: text,
      model: nullableText,
      status: z.enum(["succeeded", "cancelled"]),
      latencyMs: nullableCount,
      firstDeltaMs: nullableCount,
      costUsd: z.number().min(0).nullable(),
      startedAt: z.number().int().min(0),
    })
    .optional(),
});

export const voidArgs = z.object({ holdId: z.string() });

export const debitArgs = z.object({
  key,
  amount: tokens,
  description: text,
  type: z.enum(LEDGER_TYPES),
  reference: optionalText,
  partial: z.boolean().optional(),
  grantIds: z.array(z.string()).optional(),
  owe: z.boolean().optional(),
});

export const debtsArgs = z.object({ keys: z.array(key).max(100) });

export const adjustArgs = z.object({
  key,
  reason: text,
  amount: z
    .number()
    .int()
    .refine((n) => n !== 0 && Math.abs(n) <= MAX_AMOUNT),
});

export const transferArgs = z
  .object({ walletId: z.string(), key, description: text, to: z.string().min(1) })
  .refine((a) => a.to !== a.walletId, { message: "A wallet cannot transfer to itself." });

export const memberSpendArgs = z.object({
  accountIds: z.array(z.string().min(1).max(128)).max(500).optional(),
});

// Who may spend (access.ts): what the routes push when they change it.
const epochMs = z.number().int().nonnegative();

export const authorizeArgs = z.object({ session: z.object({ id, accountId: id }) });

export const sessionOpenedArgs = z.object({
  session: z.object({
    id,
    kind: z.enum(["user", "anonymous"]),
    resumed: z.boolean(),
    expiresAt: epochMs,
    createdAt: epochMs,
  }),
});

export const sessionRevokedArgs = z.union([
  z.object({ sessionId: id, at: epochMs }),
  z.object({ all: z.literal(true), at: epochMs }),
]);

export const sessionRenewedArgs = z.object({ sessionId: id, expiresAt: epochMs });

export const ownerStateArgs = z.object({
  status: z.enum(["active", "blocked"]).optional(),
  merged: z.boolean().optional(),
  plan: z.string().max(128).nullable().optional(),
});

export const setMemberArgs = z.union([
  z.object({ accountId: id, removed: z.literal(true) }),
  z.object({ accountId: id, role: z.enum(["owner", "admin", "member"]), monthlyLimit }),
]);

/** The message a bad `amount` gets, per operation. */
export const AMOUNT_MESSAGES = {
  grant: "A grant must be a positive whole number of tokens.",
  reserve: "A hold must be a positive whole number of tokens.",
  debit: "A debit must be a positive whole number of tokens.",
  settle: "A settlement must be a whole number of tokens, 0 or more.",
  adjust: "An adjustment must be a non-zero whole number of tokens.",
};

/** Null when `args` fits `schema`; otherwise the refusal for its first bad field. */
export function check(
  schema: z.ZodType,
  args: unknown,
  amountMessage = "Invalid amount.",
): WalletFailure | null {
  const parsed = schema.safeParse(args);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0];
  const field = issue?.path[0];
  if (field === "amount") return fail("invalid_amount", amountMessage);
  if (typeof field === "string" && FIELD_MESSAGES[field]) return invalid(FIELD_MESSAGES[field]);
  return invalid(issue?.message ?? "Invalid request.");
}

/** JSON with sorted keys and no undefined: the same arguments give the same fingerprint. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .filter((k) => v[k] !== undefined)
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}
