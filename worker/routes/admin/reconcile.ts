import { Hono } from "hono";
import { z } from "zod";
import { validate } from "../../lib/validation";
import { reconcile } from "../../wallet/reconcile";
import type { AdminEnv } from "./auth";

const reconcileQuery = z.object({
  /** `?full=1`: every wallet, not only those changed since their last clean check. */
  full: z.enum(["0", "1", "true", "false"]).optional(),
  sample: z.coerce.number().int().min(0).max(10_000).optional(),
});

// Also run by the cron (worker/cron.ts); a read as far as balances go, so not audited.
export const adminReconcile = new Hono<AdminEnv>().get("/", validate("query", reconcileQuery), async (c) => {
  const q = c.req.valid("query");
  return c.json(await reconcile(c.env, { full: q.full === "1" || q.full === "true", sample: q.sample }));
});
