import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { isLoopbackHost } from "../lib/loopback";
import { validate } from "../lib/validation";
import { wallet } from "../wallet/client";
import { GRANT_SOURCES } from "../wallet/ledger";
import { reconcile } from "../wallet/reconcile";

/**
 * DEV ONLY: levers for benchmarks and local poking (bench/wallet.bench.mjs).
 * Answers 404 unless AUTH_DEV_LOGIN is "true" and the host is loopback, so a
 * stray production variable opens nothing. Nothing here checks a session:
 * anyone who can reach a dev server can mint tokens on it.
 */
const walletId = z.object({ id: z.string().min(1).max(128) });

export const dev = new Hono<AppEnv>()
  .use(async (c, next) => {
    if (c.env.AUTH_DEV_LOGIN !== "true" || !isLoopbackHost(c.req.url)) throw notFound();
    await next();
  })
  .post(
    "/wallets/:id/grant",
    validate("param", walletId),
    validate(
      "json",
      z.object({
        amount: z.number().int().positive().max(1_000_000_000),
        source: z.enum(GRANT_SOURCES).default("free"),
        key: z.string().min(1).max(128).optional(),
      }),
    ),
    async (c) => {
      const { amount, source, key } = c.req.valid("json");
      const r = await wallet(c.env, c.req.valid("param").id).grant({
        key: key ?? newId("req"),
        source,
        amount,
        description: "Dev grant",
      });
      if (!r.ok) throw new ApiError(409, "idempotency_conflict", r.message);
      return c.json({ grantId: r.grantId, tokens: r.tokens });
    },
  )
  // One charged generation without the model: reserve, then settle in full.
  .post(
    "/wallets/:id/charge",
    validate("param", walletId),
    validate(
      "json",
      z.object({
        amount: z.number().int().positive().max(1_000).default(1),
        // The same key again charges once: a client that lost the answer retries with it.
        key: z.string().min(1).max(128).optional(),
        // A team member's charge on a team wallet, under their monthly limit.
        member: z
          .object({ accountId: z.string().min(1).max(128), monthlyLimit: z.number().int().min(0).nullable() })
          .optional(),
      }),
    ),
    async (c) => {
      const { amount, key, member } = c.req.valid("json");
      const w = wallet(c.env, c.req.valid("param").id);
      const hold = await w.reserve({
        key: `dev-charge:${key ?? newId("req")}`,
        amount,
        ttlMs: 60_000,
        member,
      });
      if (!hold.ok && hold.code === "member_limit_reached") {
        throw new ApiError(402, "member_limit_reached", hold.message, {
          limit: hold.limit,
          spent: hold.spent,
          resetsAt: hold.resetsAt,
        });
      }
      if (!hold.ok) {
        throw new ApiError(402, "insufficient_tokens", hold.message, {
          required: amount,
          available: hold.tokens.available,
          shortage: amount - hold.tokens.available,
        });
      }
      const settled = await w.settle({ holdId: hold.holdId, amount, description: "Dev charge" });
      if (!settled.ok) throw new ApiError(409, "request_in_progress", settled.message);
      return c.json({ charged: settled.charged, tokens: settled.tokens });
    },
  )
  // The platform's floor for a charge: two wallet round trips that change nothing.
  .post("/wallets/:id/ping", validate("param", walletId), async (c) => {
    const w = wallet(c.env, c.req.valid("param").id);
    await w.stats();
    return c.json({ stats: await w.stats() });
  })
  .get("/wallets/:id/stats", validate("param", walletId), async (c) => {
    const w = wallet(c.env, c.req.valid("param").id);
    const [stats, tokens, members] = await Promise.all([w.stats(), w.balance(), w.memberSpend()]);
    return c.json({ stats, tokens, members: members.members });
  })
  .get("/reconcile", async (c) => c.json(await reconcile(c.env)));
