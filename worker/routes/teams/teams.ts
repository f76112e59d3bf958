import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { db } from "../../db/client";
import { teamMembers, teams as teamsTable } from "../../db/schema";
import { notFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { rateLimit } from "../../lib/rate-limit";
import { requireActive } from "../../lib/session";
import { validate } from "../../lib/validation";
import { membersOf, teamsOf } from "../../teams/views";
import { pushMember } from "../../teams/wallet-members";
import { wallet } from "../../wallet/client";
import { signedIn, type TeamEnv, teamMember } from "./access";

const createBody = z.object({ name: z.string().trim().min(1).max(80) });

/** Each team is a wallet object and rows: a person has no use for hundreds a day. */
const createLimit = rateLimit((c) => [
  { key: `teams:create:acc:${c.var.session.accountId}`, limit: 20, periodMs: 24 * 60 * 60 * 1000 },
]);

export const teamsRoutes = new Hono<TeamEnv>()
  .post("/", ...signedIn, requireActive, createLimit, validate("json", createBody), async (c) => {
    const { accountId } = c.var.session;
    const d = db(c.env.DB);
    const id = newId("team");
    const now = new Date();
    const { name } = c.req.valid("json");
    await d.batch([
      d.insert(teamsTable).values({ id, name, createdBy: accountId, createdAt: now }),
      d
        .insert(teamMembers)
        .values({ teamId: id, accountId, role: "owner", monthlyLimit: null, joinedAt: now }),
    ]);
    // The owner is the team wallet's first member (D1 first, then the wallet).
    await pushMember(c.env, id, { accountId, role: "owner", monthlyLimit: null });
    const tokens = await wallet(c.env, id).balance();
    return c.json({ team: { id, name, role: "owner" as const }, tokens }, 201);
  })

  .get("/", ...signedIn, async (c) => {
    return c.json({ items: await teamsOf(c.env, db(c.env.DB), c.var.session.accountId) });
  })

  .get("/:id", ...signedIn, teamMember, async (c) => {
    const m = c.var.membership;
    const d = db(c.env.DB);
    const [team, tokens, members] = await Promise.all([
      d.query.teams.findFirst({ where: eq(teamsTable.id, m.teamId) }),
      wallet(c.env, m.teamId).balance(),
      // Owners and admins see everyone; a member sees only their own entry.
      membersOf(c.env, d, m.teamId, m.role === "member" ? m.accountId : undefined),
    ]);
    if (!team) throw notFound("The team");
    return c.json({ team: { id: team.id, name: team.name, role: m.role }, tokens, members });
  });
