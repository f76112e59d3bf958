import { and, desc, eq, gt, gte, lt, or, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { db } from "../db/client";
import { generations as generationsTable } from "../db/schema";
import type { AppEnv } from "../env";
import { notFound } from "../lib/errors";
import { keysetPage } from "../lib/pagination";
import { ownGenerations, requireSession } from "../lib/session";
import { validate } from "../lib/validation";

const DAY_MS = 24 * 60 * 60 * 1000;

const page = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .regex(/^gen_[0-9a-z]{26}$/, "The cursor is not one this API returned.")
    .optional(),
});
const format = z.object({ format: z.enum(["json", "md"]).default("json") });
const usageQuery = z.object({ days: z.coerce.number().int().min(1).max(365).default(30) });

type Row = typeof generationsTable.$inferSelect;

function item(r: Row) {
  return {
    id: r.id,
    site: r.site,
    feature: r.feature,
    issueType: r.issueType,
    prompt: r.prompt,
    title: r.title ?? "",
    description: r.description ?? "",
    charged: r.charged,
    model: r.model,
    status: r.status,
    ...(r.errorCode ? { errorCode: r.errorCode } : {}),
    createdAt: r.createdAt.toISOString(),
  };
}

/** The ticket as Markdown, ready to paste anywhere (`?format=md`). */
function markdown(r: Row): string {
  const title = (r.title ?? "").trim() || "Untitled ticket";
  const description = (r.description ?? "").trim();
  return `# ${title}\n\n${description ? `${description}\n` : ""}`;
}

export const generations = new Hono<AppEnv>()
  .get("/generations", requireSession, validate("query", page), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const rows = await db(c.env.DB)
      .select()
      .from(generationsTable)
      .where(and(ownGenerations(c.var.session), cursor ? lt(generationsTable.id, cursor) : undefined))
      .orderBy(desc(generationsTable.id))
      .limit(limit + 1);
    return c.json(keysetPage(rows, limit, item, (r) => r.id));
  })
  .get("/generations/:id", requireSession, validate("query", format), async (c) => {
    const row = await db(c.env.DB).query.generations.findFirst({
      where: and(eq(generationsTable.id, c.req.param("id")), ownGenerations(c.var.session)),
    });
    // Another account's (or session's) generation is "not found", not "forbidden": ids reveal nothing.
    if (!row) throw notFound("The generation");
    if (c.req.valid("query").format === "md") {
      return c.body(markdown(row), 200, { "Content-Type": "text/markdown; charset=utf-8" });
    }
    return c.json(item(row));
  })
  .get("/usage", requireSession, validate("query", usageQuery), async (c) => {
    const { days } = c.req.valid("query");
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const since = today - (days - 1) * DAY_MS;
    const t = generationsTable;
    const day = sql<string>`date(${t.createdAt} / 1000, 'unixepoch')`;
    // A generation counts once it delivered something: completed, or cut short and charged.
    const rows = await db(c.env.DB)
      .select({
        day,
        site: t.site,
        feature: t.feature,
        model: t.model,
        spent: sql<number>`sum(${t.charged})`,
        generations: sql<number>`count(*)`,
      })
      .from(t)
      .where(
        and(
          ownGenerations(c.var.session),
          gte(t.createdAt, new Date(since)),
          or(eq(t.status, "succeeded"), gt(t.charged, 0)),
        ),
      )
      .groupBy(day, t.site, t.feature, t.model);

    type Figures = { spent: number; generations: number };
    const add = (map: Record<string, Figures>, key: string, r: Figures) => {
      const f = map[key] ?? { spent: 0, generations: 0 };
      map[key] = { spent: f.spent + r.spent, generations: f.generations + r.generations };
    };
    const byFeature: Record<string, Figures> = {};
    const byModel: Record<string, Figures> = {};
    const bySite: Record<string, Figures> = {};
    const perDay: Record<string, Figures> = {};
    for (const r of rows) {
      add(byFeature, r.feature, r);
      add(byModel, r.model ?? "unknown", r);
      add(bySite, r.site, r);
      add(perDay, r.day, r);
    }
    const byDay = Array.from({ length: days }, (_, i) => {
      const date = new Date(since + i * DAY_MS).toISOString().slice(0, 10);
      return { date, ...(perDay[date] ?? { spent: 0, generations: 0 }) };
    });
    return c.json({
      days,
      spent: rows.reduce((n, r) => n + r.spent, 0),
      generations: rows.reduce((n, r) => n + r.generations, 0),
      byFeature,
      byModel,
      bySite,
      byDay,
    });
  });
