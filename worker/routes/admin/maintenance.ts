import { Hono } from "hono";
import { z } from "zod";
import { moveContent } from "../../admin/move-content";
import { validate } from "../../lib/validation";
import type { AdminEnv } from "./auth";

const moveQuery = z.object({
  /** How many batches this call runs (each at most 50 rows). */
  batches: z.coerce.number().int().min(1).max(200).default(20),
  /** `?restart=1`: walk again from the first id, even after a pass said done. */
  restart: z.enum(["0", "1", "true", "false"]).optional(),
});

// Moves no money and shows no one's text: not audited. The cron runs it too (worker/cron.ts).
export const adminMaintenance = new Hono<AdminEnv>().post(
  "/move-content",
  validate("query", moveQuery),
  async (c) => {
    const q = c.req.valid("query");
    return c.json(
      await moveContent(c.env, { batches: q.batches, restart: q.restart === "1" || q.restart === "true" }),
    );
  },
);
