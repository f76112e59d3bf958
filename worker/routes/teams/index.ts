import { Hono } from "hono";
import type { TeamEnv } from "./access";
import { inviteRoutes } from "./invites";
import { ledgerRoutes } from "./ledger";
import { memberRoutes } from "./members";
import { teamsRoutes } from "./teams";

/**
 * Teams (docs/api.md "Teams"), mounted at /api/teams: one shared wallet, addressed
 * by the team id, and its members. Signed-in users only; a non-member gets 404.
 */
export const teams = new Hono<TeamEnv>()
  .route("/", teamsRoutes)
  .route("/", inviteRoutes)
  .route("/", memberRoutes)
  .route("/", ledgerRoutes);
