import { Hono } from "hono";
import { z } from "zod";
import { redeemPromoCode } from "../billing/promo";
import { db } from "../db/client";
import type { AppEnv } from "../env";
import { requireActive, requireSession, requireUser } from "../lib/session";
import { validate } from "../lib/validation";

const redeemBody = z.object({ code: z.string().trim().min(1).max(64) });

export const promo = new Hono<AppEnv>().post(
  "/redeem",
  requireSession,
  requireUser,
  requireActive,
  validate("json", redeemBody),
  async (c) => {
    const { accountId } = c.var.session;
    const result = await redeemPromoCode(c.env, db(c.env.DB), accountId, c.req.valid("json").code);
    c.header("X-Tokens-Remaining", String(result.tokens.available));
    return c.json(result);
  },
);
