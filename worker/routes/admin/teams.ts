import { and, count, desc, eq, lt, or, type SQL, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { recordAudit } from "../../admin/audit";
import { type Db, db } from "../../db/client";
import { ledgerEntries, teamMembers, teams } from "../../db/schema";
import type { AppEnv } from "../../env";
import { ApiError, notFound } from "../../lib/errors";
import { keysetPage } from "../../lib/pagination";
import { validate } from "../../lib/validation";
import { TEAM_ID } from "../../teams/membership";
import { membersOf } from "../../teams/views";
import { wallet } from "../../wallet/client";

/**
 * Admin routes for teams (API.md "Admin routes"), mounted at /admin/teams
 * behind the admin token like every admin module. Reads, and one write: a
 * balance adjustment, audited like an account's.
 */
type AdminEnv = AppEnv & { Variables: { adminActor: string } };

const searchQuery = z.object({
  query: z.string().trim().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(TEAM_ID, "The cursor is not one this API returned.").optional(),
});
const ledgerQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.coerce.number().int().min(1).optional(),
});
const idParam = z.object({ id: z.string().min(1).max(64) });

/** Large enough for any real correction, small enough that a typo of extra zeros is refused. */
const MAX_ADJUSTMENT = 1_000_000;
const adjustBody = z.object({
  amount: z
    .number()
    .int()
    .min(-MAX_ADJUSTMENT)
    .max(MAX_ADJUSTMENT)
    .refine((n) => n !== 0, "The amount must not be zero."),
  reason: z.string().trim().min(1).max(500),
});
const keyHeader = z
  .string()
  .regex(/^[\x21-\x7e]{8,128}$/, "Idempotency-Key must be 8-128 printable ASCII characters.");

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
    const q = c.req.valid("query");
    const rows = await d
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.walletId, team.id), q.cursor ? lt(ledgerEntries.seq, q.cursor) : undefined))
      .orderBy(desc(ledgerEntries.seq))
      .limit(q.limit + 1);
    return c.json(
      keysetPage(
        rows,
        q.limit,
        (e) => ({
          id: e.id,
          seq: e.seq,
          type: e.type,
          amount: e.amount,
          balanceAfter: e.balanceAfter,
          description: e.description,
          ...(e.feature ? { feature: e.feature } : {}),
          ...(e.generationId ? { generationId: e.generationId } : {}),
          ...(e.memberId ? { accountId: e.memberId } : {}),
          reference: e.reference,
          createdAt: e.createdAt.toISOString(),
        }),
        (e) => String(e.seq),
      ),
    );
  })

  .post("/:id/adjust", validate("param", idParam), validate("json", adjustBody), async (c) => {
    const d = db(c.env.DB);
    const team = await findTeam(d, c.req.valid("param").id);
    const { amount, reason } = c.req.valid("json");
    const header = c.req.header("Idempotency-Key");
    if (header !== undefined && !keyHeader.safeParse(header).success) {
      throw new ApiError(400, "invalid_request", "The request is not valid.", {
        issues: [{ path: "Idempotency-Key", message: "Must be 8-128 printable ASCII characters." }],
      });
    }
    // Without a key every call is its own adjustment; with one, a retry is a replay.
    const key = header ?? `req:${crypto.randomUUID()}`;
    const r = await wallet(c.env, team.id).adjust({ key: `admin:${key}`, amount, reason });
    if (!r.ok) {
      if (r.code === "idempotency_conflict") {
        throw new ApiError(409, "idempotency_conflict", "This Idempotency-Key was used with another body.");
      }
      throw new ApiError(400, "invalid_request", r.message, {
        issues: [{ path: "amount", message: r.message }],
      });
    }
    await recordAudit(d, {
      actor: c.var.adminActor,
      action: "team.adjust",
      target: team.id,
      before: { available: r.tokens.available - r.adjusted, balance: r.tokens.balance - r.adjusted },
      after: {
        available: r.tokens.available,
        balance: r.tokens.balance,
        requested: amount,
        adjusted: r.adjusted,
        reason,
      },
      key: `adjust:${team.id}:${key}`,
      requestId: c.var.requestId,
    });
    return c.json({ adjusted: r.adjusted, tokens: r.tokens, ...(r.replayed ? { replayed: true } : {}) });
  });
