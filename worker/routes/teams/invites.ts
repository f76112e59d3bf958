import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { db } from "../../db/client";
import { teams as teamsTable } from "../../db/schema";
import { rateLimit } from "../../lib/rate-limit";
import { requireActive } from "../../lib/session";
import { validate } from "../../lib/validation";
import { createInvite, redeemInvite } from "../../teams/invites";
import { pushMember } from "../../teams/wallet-members";
import { wallet } from "../../wallet/client";
import { managers, signedIn, type TeamEnv, teamMember } from "./access";

export const MAX_MONTHLY_LIMIT = 1_000_000_000;
export const monthlyLimit = z.number().int().min(0).max(MAX_MONTHLY_LIMIT).nullable();

const inviteBody = z.object({
  email: z.email().max(254).optional(),
  role: z.enum(["admin", "member"]).default("member"),
  monthlyLimit: monthlyLimit.default(null),
});
const joinBody = z.object({ code: z.string().trim().min(1).max(128) });

const DAY_MS = 24 * 60 * 60 * 1000;
const inviteLimit = rateLimit((c) => [
  { key: `teams:invite:acc:${c.var.session.accountId}`, limit: 200, periodMs: DAY_MS },
]);
/** Codes are 144 random bits; the limit only keeps a script from hammering D1 with guesses. */
const joinLimit = rateLimit((c) => [
  { key: `teams:join:acc:${c.var.session.accountId}`, limit: 20, periodMs: 60_000 },
]);

export const inviteRoutes = new Hono<TeamEnv>()
  .post(
    "/:id/invites",
    ...signedIn,
    requireActive,
    teamMember,
    managers,
    inviteLimit,
    validate("json", inviteBody),
    async (c) => {
      const m = c.var.membership;
      const invite = await createInvite(db(c.env.DB), m.teamId, m.accountId, c.req.valid("json"));
      return c.json({ invite }, 201);
    },
  )

  .post("/join", ...signedIn, requireActive, joinLimit, validate("json", joinBody), async (c) => {
    const d = db(c.env.DB);
    const { accountId } = c.var.session;
    const joined = await redeemInvite(c.env.DB, c.req.valid("json").code, accountId);
    // A new member: D1 first (above), then the team's wallet, which admits their generations.
    await pushMember(c.env, joined.teamId, {
      accountId,
      role: joined.role,
      monthlyLimit: joined.monthlyLimit,
    });
    const [team, tokens] = await Promise.all([
      d.query.teams.findFirst({ where: eq(teamsTable.id, joined.teamId) }),
      wallet(c.env, joined.teamId).balance(),
    ]);
    return c.json({ team: { id: joined.teamId, name: team?.name ?? "", role: joined.role }, tokens });
  });
