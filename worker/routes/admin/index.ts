import { Hono } from "hono";
import { adminAccounts } from "./accounts";
import { adminAudit } from "./audit";
import { type AdminEnv, requireAdmin } from "./auth";
import { adminCatalog } from "./catalog";
import { adminMaintenance } from "./maintenance";
import { adminReconcile } from "./reconcile";
import { adminStats } from "./stats";
import { adminTeams } from "./teams";

/**
 * Admin API (docs/api.md, "Admin routes"): one module per resource, composed here.
 * Mounted at /admin, so the bare `.use` guards exactly these routes: every
 * one needs the admin token.
 */
export const admin = new Hono<AdminEnv>()
  .use("*", requireAdmin)
  .route("/accounts", adminAccounts)
  .route("/teams", adminTeams)
  .route("/", adminCatalog)
  .route("/stats", adminStats)
  .route("/reconcile", adminReconcile)
  .route("/audit", adminAudit)
  .route("/maintenance", adminMaintenance);
