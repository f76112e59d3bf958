import { Hono } from "hono";
import { z } from "zod";
import { db } from "../../db/client";
import { TEAM_ROLES } from "../../db/schema";
import { requireActive } from "../../lib/session";
import { validate } from "../../lib/validation";
import { changeMember, removeMember } from "../../teams/members";
import { membersOf } from "../../teams/views";
import { signedIn, type TeamEnv, teamMember } from "./access";
import { monthlyLimit } from "./invites";

const memberParam = z.object({ id: z.string(), accountId: z.string().min(1).max(64) });
const changeBody = z
  .object({ role: z.enum(TEAM_ROLES).optional(), monthlyLimit: monthlyLimit.optional() })
  .refine((b) => b.role !== undefined || b.monthlyLimit !== undefined, "Give a role or a monthlyLimit.");

export const memberRoutes = new Hono<TeamEnv>()
  .patch(
    "/:id/members/:accountId",
    ...signedIn,
    requireActive,
    teamMember,
    validate("param", memberParam),
    validate("json", changeBody),
    async (c) => {
      const d = db(c.env.DB);
      const target = c.req.valid("param").accountId;
      await changeMember(d, c.var.membership, target, c.req.valid("json"));
      const [member] = await membersOf(c.env, d, c.var.membership.teamId, target);
      return c.json({ member });
    },
  )

  // Leaving is removing oneself, so a blocked account may still leave.
  .delete("/:id/members/:accountId", ...signedIn, teamMember, validate("param", memberParam), async (c) => {
    await removeMember(db(c.env.DB), c.var.membership, c.req.valid("param").accountId);
    return c.json({ removed: true });
  });
