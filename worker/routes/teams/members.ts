import { Hono } from "hono";
import { z } from "zod";
import { db } from "../../db/client";
import { TEAM_ROLES } from "../../db/schema";
import { requireActive } from "../../lib/session";
import { validate } from "../../lib/validation";
import { changeMember, removeMember } from "../../teams/members";
import { membersOf } from "../../teams/views";
import { pushMember, pushRemoved, syncMember, tightenFirst } from "../../teams/wallet-members";
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
      const { teamId } = c.var.membership;
      const target = c.req.valid("param").accountId;
      const change = c.req.valid("json");
      let told = false;
      try {
        const updated = await changeMember(d, c.var.membership, target, change, (t) => {
          told = true;
          return tightenFirst(c.env, t, change);
        });
        await pushMember(c.env, teamId, updated);
      } catch (error) {
        // Refused or failed after the wallet heard the tighter limit: it gets D1's truth back.
        if (told) await syncMember(c.env, d, teamId, target);
        throw error;
      }
      const [member] = await membersOf(c.env, d, teamId, target);
      return c.json({ member });
    },
  )

  // Leaving is removing oneself, so a blocked account may still leave.
  .delete("/:id/members/:accountId", ...signedIn, teamMember, validate("param", memberParam), async (c) => {
    const d = db(c.env.DB);
    const { teamId } = c.var.membership;
    const target = c.req.valid("param").accountId;
    let told = false;
    try {
      // A removal takes effect on the team's wallet first: their next generation is refused at once.
      await removeMember(d, c.var.membership, target, () => {
        told = true;
        return pushRemoved(c.env, teamId, target);
      });
    } catch (error) {
      if (told) await syncMember(c.env, d, teamId, target);
      throw error;
    }
    return c.json({ removed: true });
  });
