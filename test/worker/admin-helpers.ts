import { env, SELF } from "cloudflare:test";
import { db } from "../../worker/db/client";
import { accounts, generations } from "../../worker/db/schema";
import { newId } from "../../worker/lib/ids";
import { createSession } from "../../worker/lib/session";
import { wallet } from "../../worker/wallet/client";

export const ADMIN_TOKEN = "test-admin-token";
export const ADMIN = { Authorization: `Bearer ${ADMIN_TOKEN}` };

/** An admin call through the whole Worker, as curl would make it. */
export async function adminFetch(path: string, init: RequestInit & { json?: unknown } = {}) {
  const headers = new Headers(init.headers);
  if (!headers.has("Authorization")) headers.set("Authorization", ADMIN.Authorization);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(init.json);
  }
  return SELF.fetch(`http://w${path}`, { ...init, headers, body });
}

export async function adminJson<T = Record<string, unknown>>(
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<T> {
  const res = await adminFetch(path, init);
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${path} → ${res.status} ${await res.text()}`);
  return res.json<T>();
}

/** An account row with a live session and, optionally, some free tokens. */
export async function makeAccount(
  opts: {
    kind?: "anonymous" | "user";
    email?: string;
    visitorId?: string;
    tokens?: number;
    createdAt?: number;
    mergedInto?: string;
    firstPaidAt?: number;
  } = {},
) {
  const id = newId("acc");
  const kind = opts.kind ?? (opts.email ? "user" : "anonymous");
  await db(env.DB)
    .insert(accounts)
    .values({
      id,
      kind,
      email: opts.email ?? null,
      visitorId: opts.visitorId ?? null,
      mergedInto: opts.mergedInto ?? null,
      firstPaidAt: opts.firstPaidAt ? new Date(opts.firstPaidAt) : null,
      createdAt: new Date(opts.createdAt ?? Date.now()),
    });
  if (opts.tokens) {
    const r = await wallet(env, id).grant({
      key: `seed:${id}`,
      source: "free",
      amount: opts.tokens,
      description: "Free tokens",
    });
    if (!r.ok) throw new Error(r.message);
  }
  const { token } = await createSession(env, id, kind, { url: "http://localhost/" });
  return { id, token };
}

/** A finished generation row, as the generate route records it. */
export async function insertGeneration(
  accountId: string,
  g: {
    site?: string;
    feature?: string;
    model?: string;
    status?: "pending" | "succeeded" | "failed" | "cancelled";
    charged?: number;
    latencyMs?: number | null;
    firstDeltaMs?: number | null;
    costUsd?: number | null;
    createdAt?: number;
  } = {},
) {
  const id = newId("gen");
  await db(env.DB)
    .insert(generations)
    .values({
      id,
      accountId,
      idempotencyKey: id,
      requestHash: id,
      site: g.site ?? "jira",
      feature: g.feature ?? "generate",
      issueType: "bug",
      prompt: "Login fails",
      model: g.model ?? "openai/gpt-oss-20b",
      status: g.status ?? "succeeded",
      charged: g.charged ?? 1,
      latencyMs: g.latencyMs === undefined ? 100 : g.latencyMs,
      firstDeltaMs: g.firstDeltaMs ?? null,
      costUsd: g.costUsd ?? null,
      createdAt: new Date(g.createdAt ?? Date.now()),
    });
  return id;
}
