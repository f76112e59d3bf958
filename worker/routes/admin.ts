import { Hono } from "hono";
import { z } from "zod";
import { adminAccounts } from "../admin/accounts";
import { listAudit } from "../admin/audit";
import { type AdminEnv, requireAdmin } from "../admin/auth";
import { adminCatalog } from "../admin/catalog";
import { computeStats } from "../admin/stats";
import { db } from "../db/client";
import { validate } from "../lib/validation";
import { reconcile } from "../wallet/reconcile";
import { adminTeams } from "./admin/teams";

const statsQuery = z.object({ days: z.coerce.number().int().min(1).max(366).default(30) });
const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().trim().min(1).max(64).optional(),
  target: z.string().trim().min(1).max(128).optional(),
  action: z.string().trim().min(1).max(64).optional(),
});

/**
 * Admin API (API.md, "Admin routes"). Mounted at /admin, so the bare `.use`
 * guards exactly these routes: every one needs the admin token.
 */
export const admin = new Hono<AdminEnv>()
  .use("*", requireAdmin)
  .route("/accounts", adminAccounts)
  .route("/teams", adminTeams)
  .route("/", adminCatalog)
  .get("/stats", validate("query", statsQuery), async (c) => {
    return c.json(await computeStats(c.env.DB, c.req.valid("query").days));
  })
  // Also run by the cron (worker/admin/cron.ts); a read, so not audited.
  .get("/reconcile", async (c) => c.json(await reconcile(c.env)))
  .get("/audit", validate("query", auditQuery), async (c) => {
    return c.json(await listAudit(db(c.env.DB), c.req.valid("query")));
  });
