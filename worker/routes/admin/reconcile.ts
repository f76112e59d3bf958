import { Hono } from "hono";
import { reconcile } from "../../wallet/reconcile";
import type { AdminEnv } from "./auth";

// Also run by the cron (worker/cron.ts); a read, so not audited.
export const adminReconcile = new Hono<AdminEnv>().get("/", async (c) => c.json(await reconcile(c.env)));
