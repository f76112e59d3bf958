import { and, count, desc, eq, lt, or, type SQL, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { type Db, db } from "../../db/client";
import { teamMembers, teams } from "../../db/schema";
import { notFound } from "../../lib/errors";
import { keysetPage } from "../../lib/pagination";
import { validate } from "../../lib/validation";
import { TEAM_ID } from "../../teams/membership";
import { membersOf } from "../../teams/views";
import { wallet } from "../../wallet/client";
import { adjustInput, adjustWallet } from "./adjust";
import type { AdminEnv } from "./auth";
import { ledgerPage, ledgerQuery } from "./ledger";

/**
 * Admin routes for teams (docs/api.md "Admin routes"), mounted at /admin/teams
 * behind the admin token like every admin module. Reads, and one write: a
 * balance adjustment, audited like an account's.
 */

const searchQuery = z.object({
  query: z.string().trim().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(TEAM_ID, "The cursor is not one this API returned.").optional(),
});
const idParam = z.object({ id: z.string().min(1).max(64) });

type TeamRow = typeof teams.$inferSelect;

function teamView(t: TeamRow, members?: number) {
  return {
    id: t.id,
    name: t.name,
    createdBy: t.createdBy,
    createdAt: t.createdAt.toISOString(),
    ...(members !== undefined ? { members } : {}),
  };
}

async function findTeam(d: Db, id: string): Promise<TeamRow> {
  const team = TEAM_ID.test(id) ? await d.query.teams.findFirst({ where: eq(teams.id, id) }) : undefined;
  if (!team) throw notFound("The team");
  return team;
}

export const adminTeams = new Hono<AdminEnv>()
  .get("/", validate("query", searchQuery), async (c) => {
    const q = c.req.valid("query");
    const where: SQL[] = [];
    if (q.query) {
      const pattern = `%${q.query.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      where.push(
        or(
          eq(teams.id, q.query),
          sql`lower(${teams.name}) LIKE ${pattern} ESCAPE '\\'`,
          // A member's account id finds their teams.
          sql`${teams.id} IN (SELECT team_id FROM team_members WHERE account_id = ${q.query})`,
        ) as SQL,
      );
    }
    if (q.cursor) where.push(lt(teams.id, q.cursor));
    const rows = await db(c.env.DB)
      .select({ team: teams, members: count(teamMembers.accountId) })
      .from(teams)
      .leftJoin(teamMembers, eq(teamMembers.teamId, teams.id))
      .where(and(...where))
      .groupBy(teams.id)
      .orderBy(desc(teams.id))
      .limit(q.limit + 1);
    return c.json(
      keysetPage(
        rows,
        q.limit,
        (r) => teamView(r.team, r.members),
        (r) => r.team.id,
      ),
    );
  })

  .get("/:id", validate("param", idParam), async (c) => {
    const d = db(c.env.DB);
    const team = await findTeam(d, c.req.valid("param").id);
    const [tokens, members] = await Promise.all([
      wallet(c.env, team.id).balance(),
      membersOf(c.env, d, team.id),
    ]);
    return c.json({ team: teamView(team, members.length), tokens, members });
  })

  .get("/:id/transactions", validate("param", idParam), validate("query", ledgerQuery), async (c) => {
    const d = db(c.env.DB);
    const team = await findTeam(d, c.req.valid("param").id);
    return c.json(await ledgerPage(d, team.id, c.req.valid("query")));
  })

  .post("/:id/adjust", validate("param", idParam), ...adjustInput, async (c) => {
    const team = await findTeam(db(c.env.DB), c.req.valid("param").id);
    return adjustWallet(c, team.id, "team.adjust");
  });
