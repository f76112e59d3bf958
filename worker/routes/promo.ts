import { Hono } from "hono";
import { z } from "zod";
import { redeemPromoCode } from "../billing/promo";
import { db } from "../db/client";
import type { AppEnv } from "../env";
import { clientIp, rateLimit } from "../lib/rate-limit";
import { requireActive, requireSession, requireUser } from "../lib/session";
import { validate } from "../lib/validation";

const redeemBody = z.object({ code: z.string().trim().min(1).max(64) });

/** Attempts to redeem, per hour: enough for a person mistyping, far too few to guess codes. */
export const REDEEM_LIMITS = { perAccount: 10, perAddress: 30, periodMs: 3_600_000 };

/** Counts every attempt, good or bad: a guesser's misses are what must be slow. */
const redeemLimit = rateLimit((c) => {
  const ip = clientIp(c);
  const { perAccount, perAddress, periodMs } = REDEEM_LIMITS;
  return [
    { key: `promo:acct:${c.var.session.accountId}`, limit: perAccount, periodMs },
    ...(ip ? [{ key: `promo:ip:${ip}`, limit: perAddress, periodMs }] : []),
  ];
});

export const promo = new Hono<AppEnv>().post(
  "/redeem",
  requireSession,
  requireUser,
  requireActive,
  redeemLimit,
  validate("json", redeemBody),
  async (c) => {
    const { accountId } = c.var.session;
    const result = await redeemPromoCode(c.env, db(c.env.DB), accountId, c.req.valid("json").code);
    c.header("X-Tokens-Remaining", String(result.tokens.available));
    return c.json(result);
  },
);
