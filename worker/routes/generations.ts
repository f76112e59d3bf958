import { and, isNull } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { db } from "../db/client";
import { generationMeta } from "../db/schema";
import type { AppEnv } from "../env";
import { notFound } from "../lib/errors";
import { type Ticket, ticketById, ticketsPage } from "../lib/history";
import { keysetPage } from "../lib/pagination";
import { ownGenerations, requireSession } from "../lib/session";
import { usageReport } from "../lib/usage";
import { validate } from "../lib/validation";

const page = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .regex(/^gen_[0-9a-z]{26}$/, "The cursor is not one this API returned.")
    .optional(),
});
const format = z.object({ format: z.enum(["json", "md"]).default("json") });
const usageQuery = z.object({ days: z.coerce.number().int().min(1).max(365).default(30) });

function item(r: Ticket) {
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
function markdown(r: Ticket): string {
  const title = (r.title ?? "").trim() || "Untitled ticket";
  const description = (r.description ?? "").trim();
  return `# ${title}\n\n${description ? `${description}\n` : ""}`;
}

export const generations = new Hono<AppEnv>()
  .get("/generations", requireSession, validate("query", page), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const rows = await ticketsPage(c.env, c.var.session, cursor, limit + 1);
    return c.json(keysetPage(rows, limit, item, (r) => r.id));
  })
  .get("/generations/:id", requireSession, validate("query", format), async (c) => {
    const row = await ticketById(c.env, c.var.session, c.req.param("id"));
    // Another account's (or session's) generation is "not found", not "forbidden": ids reveal nothing.
    if (!row) throw notFound("The generation");
    if (c.req.valid("query").format === "md") {
      return c.body(markdown(row), 200, { "Content-Type": "text/markdown; charset=utf-8" });
    }
    return c.json(item(row));
  })
  .get("/usage", requireSession, validate("query", usageQuery), async (c) => {
    // Personal usage: what this session may read and its own wallet paid (team spend is the team's).
    const where = and(ownGenerations(c.var.session, generationMeta), isNull(generationMeta.walletId));
    return c.json(await usageReport(db(c.env.DB), where, c.req.valid("query").days));
  });
