import { Hono } from "hono";
import { z } from "zod";
import { computeStats } from "../../admin/stats";
import { validate } from "../../lib/validation";
import type { AdminEnv } from "./auth";

const statsQuery = z.object({ days: z.coerce.number().int().min(1).max(366).default(30) });

/** The dashboard's business figures over the last `days` UTC days. */
export const adminStats = new Hono<AdminEnv>().get("/", validate("query", statsQuery), async (c) => {
  return c.json(await computeStats(c.env.DB, c.req.valid("query").days));
});
