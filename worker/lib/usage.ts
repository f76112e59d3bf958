import { and, eq, gt, gte, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { generationMeta } from "../db/schema";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface Figures {
  spent: number;
  generations: number;
}

/**
 * The `/api/me/usage` report (docs/api.md) over the generations `where` selects,
 * for the last `days` UTC days including today; `byMember` adds the figures
 * per account (team usage). `where` is built on the same source's columns. A generation counts once it delivered something:
 * completed, or cut short and charged.
 */
export async function usageReport(
  d: Db,
  where: SQL | undefined,
  days: number,
  opts: { byMember?: boolean } = {},
) {
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const since = today - (days - 1) * DAY_MS;
  // Every generation D1 knows, its folded entries too (docs/decisions/021, 025).
  const t = generationMeta;
  const day = sql<string>`date(${t.createdAt} / 1000, 'unixepoch')`;
  const rows = await d
    .select({
      day,
      site: t.site,
      feature: t.feature,
      model: t.model,
      accountId: t.accountId,
      spent: sql<number>`sum(${t.charged})`,
      generations: sql<number>`count(*)`,
    })
    .from(t)
    .where(and(where, gte(t.createdAt, new Date(since)), or(eq(t.status, "succeeded"), gt(t.charged, 0))))
    .groupBy(day, t.site, t.feature, t.model, t.accountId);

  const add = (map: Record<string, Figures>, key: string, r: Figures) => {
    const f = map[key] ?? { spent: 0, generations: 0 };
    map[key] = { spent: f.spent + r.spent, generations: f.generations + r.generations };
  };
  const byFeature: Record<string, Figures> = {};
  const byModel: Record<string, Figures> = {};
  const bySite: Record<string, Figures> = {};
  const byMember: Record<string, Figures> = {};
  const perDay: Record<string, Figures> = {};
  for (const r of rows) {
    add(byFeature, r.feature, r);
    add(byModel, r.model ?? "unknown", r);
    add(bySite, r.site, r);
    add(byMember, r.accountId, r);
    add(perDay, r.day, r);
  }
  const byDay = Array.from({ length: days }, (_, i) => {
    const date = new Date(since + i * DAY_MS).toISOString().slice(0, 10);
    return { date, ...(perDay[date] ?? { spent: 0, generations: 0 }) };
  });
  return {
    days,
    spent: rows.reduce((n, r) => n + r.spent, 0),
    generations: rows.reduce((n, r) => n + r.generations, 0),
    byFeature,
    byModel,
    bySite,
    byDay,
    ...(opts.byMember ? { byMember } : {}),
  };
}
