import { and, desc, eq, isNotNull, lt } from "drizzle-orm";
import { legacyContentLeft } from "../admin/move-content";
import { db } from "../db/client";
import { generations } from "../db/schema";
import type { Env, Session } from "../env";
import { wallet } from "../wallet/client";
import type { GenerationRecord } from "../wallet/records";
import { ownGenerations } from "./session";

/**
 * A session's generations, read where their text is kept (docs/decisions/018):
 * the account's wallet object first, then D1 for legacy rows — those written
 * before the object kept them and not moved yet (their prompt is still in
 * D1). A generation in both (a move under way) is read from the object.
 */
export interface Ticket {
  id: string;
  site: string;
  feature: string;
  issueType: string;
  prompt: string;
  title: string | null;
  description: string | null;
  charged: number;
  model: string | null;
  status: GenerationRecord["status"];
  errorCode: string | null;
  createdAt: Date;
}

type Row = typeof generations.$inferSelect;

const fromRecord = (r: GenerationRecord): Ticket => ({
  id: r.id,
  site: r.site,
  feature: r.feature,
  issueType: r.issueType,
  prompt: r.prompt,
  title: r.title,
  description: r.description,
  charged: r.charged,
  model: r.model,
  status: r.status,
  errorCode: r.errorCode,
  createdAt: new Date(r.createdAt),
});

const fromRow = (r: Row): Ticket => ({
  id: r.id,
  site: r.site,
  feature: r.feature,
  issueType: r.issueType,
  prompt: r.prompt ?? "",
  title: r.title,
  description: r.description,
  charged: r.charged,
  model: r.model,
  status: r.status,
  errorCode: r.errorCode,
  createdAt: r.createdAt,
});

/** What the object's session filter needs of a session (the same rule as ownGenerations). */
const reader = (s: Session) => ({ id: s.id, kind: s.kind, resumed: s.resumed ?? false });

/** D1 rows that still carry their text: not moved to the object yet. */
const legacy = (session: Session) => and(ownGenerations(session), isNotNull(generations.prompt));

/**
 * Up to `take` tickets newest first with ids below `cursor`: both sources are
 * asked for `take` and merged, so a keyset page over the union is exact.
 */
export async function ticketsPage(env: Env, session: Session, cursor: string | undefined, take: number) {
  const [kept, old] = await Promise.all([
    wallet(env, session.accountId).listGenerations({ sessionFilter: reader(session), cursor, limit: take }),
    legacyContentLeft(env).then((left) =>
      left
        ? db(env.DB)
            .select()
            .from(generations)
            .where(and(legacy(session), cursor ? lt(generations.id, cursor) : undefined))
            .orderBy(desc(generations.id))
            .limit(take)
        : [],
    ),
  ]);
  const byId = new Map<string, Ticket>();
  for (const r of old) byId.set(r.id, fromRow(r));
  for (const r of kept.items) byId.set(r.id, fromRecord(r));
  return [...byId.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).slice(0, take);
}

/** One ticket this session may read, or null (another account's or session's looks absent). */
export async function ticketById(env: Env, session: Session, id: string): Promise<Ticket | null> {
  // No id of ours is longer; a longer one is simply not found.
  if (id.length > 64) return null;
  const [kept, row] = await Promise.all([
    wallet(env, session.accountId).getGeneration({ id, session: reader(session) }),
    legacyContentLeft(env).then((left) =>
      left
        ? db(env.DB).query.generations.findFirst({ where: and(eq(generations.id, id), legacy(session)) })
        : undefined,
    ),
  ]);
  if (kept) return fromRecord(kept);
  return row ? fromRow(row) : null;
}

const MOVE_PAGE = 200;

/**
 * The sign-in move of an anonymous session's tickets (docs/decisions/009,
 * 018): each page of the records the session may read is exported from the
 * anonymous account's object, imported into the user's (idempotent by id),
 * and only then forgotten by the anonymous object. A crash between the steps
 * repeats them on the next sign-in with the same token and adds nothing.
 * Running ones stay: they finish where they started. Returns the ids moved.
 */
export async function moveTickets(env: Env, session: Session, userId: string): Promise<string[]> {
  const from = wallet(env, session.accountId);
  const to = wallet(env, userId);
  const moved: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await from.exportGenerations({ session: reader(session), after, limit: MOVE_PAGE });
    const finished = page.filter((r) => r.status !== "pending");
    if (finished.length > 0) {
      const result = await to.importGenerations(finished);
      if (!result.ok) throw new Error(`ticket move refused: ${result.message}`);
      await from.removeGenerations(finished.map((r) => r.id));
      moved.push(...finished.map((r) => r.id));
    }
    if (page.length < MOVE_PAGE) return moved;
    after = page.at(-1)?.id;
  }
}
