import { and, asc, count, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db/client";
import { promoCodes, promoRedemptions } from "../db/schema";
import type { Env } from "../env";
import { ApiError, notFound } from "../lib/errors";
import { wallet } from "../wallet/client";
import type { Tokens } from "../wallet/types";

/** Codes are compared case-insensitively: stored and looked up upper-case. */
export const normalizeCode = (code: string) => code.trim().toUpperCase();

export const promoCodeText = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{2,39}$/, "Use 3-40 letters, digits, '-' or '_'.")
  .transform(normalizeCode);

/** `POST /admin/promo-codes` body. */
export const promoCodeInput = z.object({
  code: promoCodeText,
  tokens: z.number().int().min(1).max(100_000),
  maxRedemptions: z.number().int().min(1).max(10_000_000).optional(),
  expiresAt: z.iso
    .datetime({ offset: true })
    .transform((s) => new Date(s))
    .optional(),
});

export type PromoCodeInput = z.input<typeof promoCodeInput>;

export interface PromoCode {
  code: string;
  tokens: number;
  maxRedemptions: number | null;
  expiresAt: string | null;
  redemptions: number;
  createdAt: string;
}

const toPromoCode = (row: typeof promoCodes.$inferSelect, redemptions: number): PromoCode => ({
  code: row.code,
  tokens: row.tokens,
  maxRedemptions: row.maxRedemptions,
  expiresAt: row.expiresAt?.toISOString() ?? null,
  redemptions,
  createdAt: row.createdAt.toISOString(),
});

/** Every code with how many accounts redeemed it, oldest first. */
export async function listPromoCodes(d: Db): Promise<PromoCode[]> {
  const rows = await d
    .select({ code: promoCodes, redemptions: count(promoRedemptions.accountId) })
    .from(promoCodes)
    .leftJoin(promoRedemptions, eq(promoRedemptions.code, promoCodes.code))
    .groupBy(promoCodes.code)
    .orderBy(asc(promoCodes.createdAt), asc(promoCodes.code));
  return rows.map((r) => toPromoCode(r.code, r.redemptions));
}

/**
 * Creates a code; an existing code (in any case) is refused with 400, so an
 * admin never silently changes a code people already hold.
 */
export async function createPromoCode(d: Db, input: PromoCodeInput): Promise<PromoCode> {
  const parsed = promoCodeInput.parse(input);
  const inserted = await d
    .insert(promoCodes)
    .values({
      code: parsed.code,
      tokens: parsed.tokens,
      maxRedemptions: parsed.maxRedemptions ?? null,
      expiresAt: parsed.expiresAt ?? null,
      createdAt: new Date(),
    })
    .onConflictDoNothing()
    .returning();
  const row = inserted[0];
  if (!row) {
    throw new ApiError(400, "invalid_request", `The promo code ${parsed.code} already exists.`, {
      issues: [{ path: "code", message: "This code already exists." }],
    });
  }
  return toPromoCode(row, 0);
}

/**
 * Deletes a code so nobody can redeem it any more; tokens already granted stay
 * and so do the redemption records. Throws 404 for an unknown code.
 */
export async function deletePromoCode(d: Db, code: string): Promise<PromoCode> {
  const normalized = normalizeCode(code);
  const [redemptions] = await d
    .select({ n: count() })
    .from(promoRedemptions)
    .where(eq(promoRedemptions.code, normalized));
  const deleted = await d.delete(promoCodes).where(eq(promoCodes.code, normalized)).returning();
  const row = deleted[0];
  if (!row) throw notFound("The promo code");
  return toPromoCode(row, redemptions?.n ?? 0);
}

/**
 * Redeems `code` for an account: once per account, within the code's expiry
 * and redemption cap, race-safe. The redemption row is inserted by one
 * conditional statement (D1 runs statements one at a time, so the cap check
 * and the insert cannot interleave); the wallet grant is keyed by code and
 * account, so a crash between the two is healed by the next attempt.
 * `409 already_redeemed` comes only for a code this account itself redeemed:
 * it tells the caller nothing it did not already know.
 */
export async function redeemPromoCode(
  env: Env,
  d: Db,
  accountId: string,
  rawCode: string,
  now = new Date(),
): Promise<{ granted: number; tokens: Tokens }> {
  const code = normalizeCode(rawCode);
  const inserted = await d.all<{ tokens: number }>(sql`
    INSERT INTO promo_redemptions (code, account_id, tokens, created_at)
    SELECT p.code, ${accountId}, p.tokens, ${now.getTime()}
    FROM promo_codes p
    WHERE p.code = ${code}
      AND (p.expires_at IS NULL OR p.expires_at > ${now.getTime()})
      AND (p.max_redemptions IS NULL
           OR (SELECT count(*) FROM promo_redemptions r WHERE r.code = p.code) < p.max_redemptions)
    ON CONFLICT (code, account_id) DO NOTHING
    RETURNING tokens`);

  const mine = await d.query.promoRedemptions.findFirst({
    where: and(eq(promoRedemptions.code, code), eq(promoRedemptions.accountId, accountId)),
  });
  if (mine) {
    // Whoever inserted it, make sure its tokens landed (a crash may have cut the grant).
    const tokens = await grantRedemption(env, d, mine);
    if (inserted.length === 0) {
      throw new ApiError(409, "already_redeemed", "This account already redeemed this code.", { tokens });
    }
    return { granted: mine.tokens, tokens };
  }

  // Unknown, deleted, expired and used-up codes get one answer, so trying
  // codes tells nobody which of them exist (decision 008).
  throw new ApiError(400, "invalid_request", CANNOT_REDEEM, {
    issues: [{ path: "code", message: CANNOT_REDEEM }],
  });
}

/** The one answer for every code this account cannot redeem. */
export const CANNOT_REDEEM =
  "This promo code cannot be redeemed. Check its spelling; it may have expired or run out.";

async function grantRedemption(env: Env, d: Db, r: typeof promoRedemptions.$inferSelect): Promise<Tokens> {
  const result = await wallet(env, r.accountId).grant({
    key: `promo:${r.code}`,
    source: "promo",
    type: "promo",
    amount: r.tokens,
    description: `Promo code ${r.code}`,
    reference: r.code,
  });
  if (!result.ok) throw new Error(`promo grant failed: ${result.code}: ${result.message}`);
  if (r.grantId === null) {
    await d
      .update(promoRedemptions)
      .set({ grantId: result.grantId })
      .where(and(eq(promoRedemptions.code, r.code), eq(promoRedemptions.accountId, r.accountId)));
  }
  return result.tokens;
}
