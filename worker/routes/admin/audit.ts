import { Hono } from "hono";
import { z } from "zod";
import { listAudit } from "../../admin/audit";
import { db } from "../../db/client";
import { validate } from "../../lib/validation";
import type { AdminEnv } from "./auth";

const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().trim().min(1).max(64).optional(),
  target: z.string().trim().min(1).max(128).optional(),
  action: z.string().trim().min(1).max(64).optional(),
});

/** The audit log, newest first, filtered by target or action. */
export const adminAudit = new Hono<AdminEnv>().get("/", validate("query", auditQuery), async (c) => {
  return c.json(await listAudit(db(c.env.DB), c.req.valid("query")));
});
