import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { inject } from "vitest";
import { app } from "../../worker/app";
import { db } from "../../worker/db/client";
import {
  accounts,
  generationMeta,
  generations,
  ledgerEntries,
  teamMembers,
  teams,
} from "../../worker/db/schema";
import type { Env } from "../../worker/env";
import { newId } from "../../worker/lib/ids";
import { createSession } from "../../worker/lib/session";
import { wallet } from "../../worker/wallet/client";

/** A signed-in account holding `tokens` free tokens, and its session token. */
export async function fundedAccount(tokens: number, opts: { plan?: string; blocked?: boolean } = {}) {
  const id = newId("acc");
  await db(env.DB)
    .insert(accounts)
    .values({
      id,
      kind: "user",
      email: `${id}@example.test`,
      plan: opts.plan ?? null,
      status: opts.blocked ? "blocked" : "active",
      createdAt: new Date(),
    });
  const { token } = await createSession(env, id, "user", { url: "http://localhost/" });
  if (tokens > 0) {
    const r = await wallet(env, id).grant({
      key: `test:${id}`,
      source: "free",
      amount: tokens,
      description: "Test tokens",
    });
    if (!r.ok) throw new Error(r.message);
  }
  return { id, token };
}

export interface FakeRequest {
  model: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  aborted: boolean;
  finished: boolean;
}

/**
 * Bindings pointing the Worker at the loopback fake OpenRouter with a fresh
 * API key, so `requests()` lists exactly the upstream calls of this test.
 */
export function upstream(model: string, extra: Partial<Env> = {}) {
  const base = inject("fakes").openrouter;
  const key = `sk-or-test-${crypto.randomUUID()}`;
  return {
    env: {
      ...env,
      OPENROUTER_API_KEY: key,
      OPENROUTER_BASE_URL: `${base}/api/v1`,
      OPENROUTER_MODEL: model,
      OPENROUTER_FALLBACK_MODELS: "",
      OPENROUTER_STALL_TIMEOUT_MS: "400",
      ...extra,
    } as Env,
    requests: async () => (await (await fetch(`${base}/__log?key=${key}`)).json()) as FakeRequest[],
  };
}

export const ticketBody = (over: Record<string, unknown> = {}) => ({
  site: "jira",
  feature: "generate",
  issueType: "bug",
  prompt: "Login loops forever on Safari after entering a valid password",
  ...over,
});

/** Calls POST /api/generate on the app with these bindings; `settled` waits for background work. */
export async function generate(
  bindings: Env,
  token: string,
  body: unknown,
  opts: { key?: string; sse?: boolean; headers?: Record<string, string> } = {},
) {
  const ctx = createExecutionContext();
  const res = await app.request(
    "/api/generate",
    {
      method: "POST",
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        ...(opts.key === "" ? {} : { "Idempotency-Key": opts.key ?? crypto.randomUUID() }),
        ...(opts.sse ? { Accept: "text/event-stream" } : {}),
        ...opts.headers,
      },
      body: typeof body === "string" ? body : JSON.stringify(body),
    },
    bindings,
    ctx,
  );
  return { res, settled: () => waitOnExecutionContext(ctx) };
}

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

export function parseSse(text: string): SseEvent[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? "{}";
      return { event, data: JSON.parse(data) as Record<string, unknown> };
    });
}

/** Reads SSE events until `until` returns true, then leaves the reader open. */
export async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  until: (events: SseEvent[]) => boolean,
): Promise<SseEvent[]> {
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return parseSse(text);
    text += decoder.decode(value, { stream: true });
    const complete = text.slice(0, text.lastIndexOf("\n\n") + 2);
    const events = parseSse(complete);
    if (until(events)) return events;
  }
}

export async function balance(accountId: string) {
  return wallet(env, accountId).balance();
}

/** The account's ledger of record in D1, oldest first. */
export async function ledger(accountId: string) {
  return db(env.DB)
    .select()
    .from(ledgerEntries)
    .where(eq(ledgerEntries.walletId, accountId))
    .orderBy(ledgerEntries.seq);
}

/**
 * The account's generations as D1 knows them (generation_meta: metadata rows
 * and the usage entries that carry a charged generation, docs/decisions/021).
 * A folded generation's details D1 does not keep (its hold, error code,
 * upstream id, tokens, issue type, completion) are the object's record's.
 */
export async function generationRows(accountId: string) {
  const known = await db(env.DB)
    .select()
    .from(generationMeta)
    .where(eq(generationMeta.accountId, accountId))
    .orderBy(generationMeta.id);
  const rows = await metadataRows(accountId);
  const records = known.some((g) => !rows.some((r) => r.id === g.id))
    ? await wallet(env, accountId)
        .exportGenerations()
        .catch(() => [])
    : [];
  return known.map((g) => {
    const row = rows.find((r) => r.id === g.id);
    if (row) return row;
    const r = records.find((x) => x.id === g.id);
    return {
      held: r?.held ?? 0,
      errorCode: r?.errorCode ?? null,
      upstreamId: r?.upstreamId ?? null,
      inputTokens: r?.inputTokens ?? null,
      outputTokens: r?.outputTokens ?? null,
      issueType: r?.issueType ?? "",
      completedAt: r?.completedAt ? new Date(r.completedAt) : null,
      idempotencyKey: null,
      requestHash: null,
      prompt: null,
      context: null,
      title: null,
      description: null,
      output: null,
      ...g,
    };
  });
}

/** The account's D1 `generations` rows themselves (failed, team, legacy, Worker-written). */
export async function metadataRows(accountId: string) {
  return db(env.DB)
    .select()
    .from(generations)
    .where(eq(generations.accountId, accountId))
    .orderBy(generations.id);
}

/** The generation's record in the account's wallet object, where its text is kept (docs/decisions/018). */
export async function keptRecord(accountId: string, generationId: string) {
  const rows = await wallet(env, accountId).exportGenerations();
  return rows.find((r) => r.id === generationId) ?? null;
}

/** Polls `check` until it holds (for effects that land after a response, like an upstream abort). */
export async function eventually<T>(check: () => Promise<T>, ok: (v: T) => boolean, ms = 2000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A team whose wallet holds `tokens` (none: an empty wallet), with these members (account id → monthly limit); the first owns it. */
export async function teamWith(tokens: number, members: Record<string, number | null>) {
  const id = newId("team");
  const d = db(env.DB);
  const [owner] = Object.keys(members);
  await d.insert(teams).values({ id, name: "Platform", createdBy: owner ?? "acc_x", createdAt: new Date() });
  for (const [accountId, monthlyLimit] of Object.entries(members)) {
    await d.insert(teamMembers).values({
      teamId: id,
      accountId,
      role: accountId === owner ? "owner" : "member",
      monthlyLimit,
      joinedAt: new Date(),
    });
  }
  if (tokens > 0) {
    const r = await wallet(env, id).grant({
      key: `seed:${id}`,
      source: "purchase",
      amount: tokens,
      description: "Team pack",
    });
    if (!r.ok) throw new Error(r.message);
  }
  return id;
}
