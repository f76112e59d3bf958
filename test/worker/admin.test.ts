import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { ADMIN, adminFetch, adminJson, makeAccount } from "./admin-helpers";

interface AuditItem {
  id: string;
  actor: string;
  action: string;
  target: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  requestId: string | null;
  createdAt: string;
}

/** Every admin route the app answers, with its `:params` filled in. */
function adminRoutes(params: Record<string, string>) {
  const seen = new Set<string>();
  const out: { method: string; path: string }[] = [];
  for (const r of app.routes) {
    if (!r.path.startsWith("/admin/") || r.method === "ALL") continue;
    const path = r.path.replace(/:(\w+)/g, (_, name: string) => params[name] ?? "x");
    const key = `${r.method} ${path}`;
    if (!seen.has(key)) out.push({ method: r.method, path });
    seen.add(key);
  }
  return out;
}

async function auditFor(target: string): Promise<AuditItem[]> {
  const body = await adminJson<{ items: AuditItem[] }>(`/admin/audit?target=${encodeURIComponent(target)}`);
  return body.items;
}

describe("admin authentication", async () => {
  const user = await makeAccount({ email: "sec@example.com", tokens: 3 });
  const routes = adminRoutes({ id: user.id, code: "SECURITY" });

  it("covers the contract's routes", () => {
    const names = routes.map((r) => `${r.method} ${r.path.replace(user.id, ":id")}`);
    for (const expected of [
      "GET /admin/accounts",
      "GET /admin/accounts/:id",
      "GET /admin/accounts/:id/transactions",
      "POST /admin/accounts/:id/adjust",
      "POST /admin/accounts/:id/revoke-sessions",
      "POST /admin/accounts/:id/block",
      "POST /admin/accounts/:id/unblock",
      "GET /admin/promo-codes",
      "POST /admin/promo-codes",
      "DELETE /admin/promo-codes/SECURITY",
      "GET /admin/pricing",
      "PUT /admin/pricing",
      "GET /admin/stats",
      "GET /admin/reconcile",
      "GET /admin/audit",
    ]) {
      expect(names).toContain(expected);
    }
  });

  const cases: [string, Record<string, string>][] = [
    ["no token", {}],
    ["a wrong token", { Authorization: "Bearer not-the-admin-token" }],
    ["the admin token with a suffix", { Authorization: "Bearer test-admin-token2" }],
    ["the admin token in another scheme", { Authorization: "Basic test-admin-token" }],
    ["a user's session token", { Authorization: `Bearer ${user.token}` }],
  ];

  for (const [name, headers] of cases) {
    it(`refuses ${name} with 401 on every admin route, changing nothing`, async () => {
      for (const { method, path } of routes) {
        const res = await adminFetch(path, {
          method,
          headers: { ...headers, ...(headers.Authorization ? {} : { Authorization: "" }) },
          json: method === "GET" ? undefined : { amount: 5, reason: "attack", code: "SECURITY", tokens: 9 },
        });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(await res.json(), `${method} ${path}`).toMatchObject({ error: { code: "unauthorized" } });
      }
      const me = await adminJson<{ account: { status: string }; tokens: { available: number } }>(
        `/admin/accounts/${user.id}`,
      );
      expect(me.account.status).toBe("active");
      expect(me.tokens.available).toBe(3);
      expect((await adminJson<{ items: unknown[] }>("/admin/promo-codes")).items).toEqual([]);
      expect((await adminJson<{ items: unknown[] }>("/admin/audit")).items).toEqual([]);
    });
  }

  it("answers 503 unavailable on every admin route when no ADMIN_TOKEN is configured", async () => {
    for (const { method, path } of routes) {
      const res = await app.request(
        path,
        {
          method,
          headers: { ...ADMIN, "Content-Type": "application/json" },
          body: method === "GET" ? null : "{}",
        },
        { ...env, ADMIN_TOKEN: undefined },
      );
      expect(res.status, `${method} ${path}`).toBe(503);
      expect(await res.json()).toMatchObject({ error: { code: "unavailable" } });
    }
  });

  it("lets the admin token in", async () => {
    const res = await adminFetch("/admin/audit");
    expect(res.status).toBe(200);
  });
});

describe("GET /admin/accounts", () => {
  it("finds accounts by id, email (any case, any part) and visitor id", async () => {
    const a = await makeAccount({ email: "Ada.Lovelace@Example.com" });
    const b = await makeAccount({ visitorId: "visitor-search-1" });
    type Page = { items: { id: string; email: string | null }[]; nextCursor?: string };
    const byEmail = await adminJson<Page>("/admin/accounts?query=ada.love");
    expect(byEmail.items.map((i) => i.id)).toEqual([a.id]);
    const byId = await adminJson<Page>(`/admin/accounts?query=${b.id}`);
    expect(byId.items.map((i) => i.id)).toEqual([b.id]);
    const byVisitor = await adminJson<Page>("/admin/accounts?query=visitor-search-1");
    expect(byVisitor.items.map((i) => i.id)).toEqual([b.id]);
    // LIKE wildcards in the query are literal characters, not patterns.
    expect((await adminJson<Page>("/admin/accounts?query=%25")).items).toEqual([]);
  });

  it("pages newest first with a cursor", async () => {
    const made = [];
    for (let i = 0; i < 5; i++) made.push((await makeAccount({ email: `page${i}@paging.test` })).id);
    type Page = { items: { id: string }[]; nextCursor?: string };
    const first = await adminJson<Page>("/admin/accounts?query=paging.test&limit=3");
    expect(first.items.map((i) => i.id)).toEqual(made.slice(2).reverse());
    expect(first.nextCursor).toBeTruthy();
    const second = await adminJson<Page>(
      `/admin/accounts?query=paging.test&limit=3&cursor=${first.nextCursor}`,
    );
    expect(second.items.map((i) => i.id)).toEqual(made.slice(0, 2).reverse());
    expect(second.nextCursor).toBeUndefined();
  });

  it("refuses a bad limit with 400", async () => {
    for (const q of ["limit=0", "limit=1000", "limit=abc"]) {
      const res = await adminFetch(`/admin/accounts?${q}`);
      expect(res.status, q).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "invalid_request" } });
    }
  });
});

describe("GET /admin/accounts/:id", () => {
  it("shows the account, its tokens, grants, sessions and ledger", async () => {
    const a = await makeAccount({ email: "detail@example.com", tokens: 4 });
    const body = await adminJson<{
      account: Record<string, unknown>;
      tokens: { available: number; held: number };
      stats: {
        grants: { source: string; amount: number; remaining: number }[];
        sessions: { active: number; total: number };
        generations: { total: number };
        ledger: { entries: number; sum: number; matchesWallet: boolean };
      };
    }>(`/admin/accounts/${a.id}`);
    expect(body.account).toMatchObject({
      id: a.id,
      kind: "user",
      email: "detail@example.com",
      status: "active",
    });
    expect(body.tokens).toMatchObject({ available: 4, held: 0 });
    expect(body.stats.grants).toEqual([expect.objectContaining({ source: "free", amount: 4, remaining: 4 })]);
    expect(body.stats.sessions).toMatchObject({ active: 1, total: 1 });
    expect(body.stats.generations.total).toBe(0);
    expect(body.stats.ledger).toEqual({ entries: 1, sum: 4, matchesWallet: true });
  });

  it("answers 404 for an unknown account on every account route", async () => {
    for (const [method, path] of [
      ["GET", "/admin/accounts/acc_nope"],
      ["GET", "/admin/accounts/acc_nope/transactions"],
      ["POST", "/admin/accounts/acc_nope/adjust"],
      ["POST", "/admin/accounts/acc_nope/revoke-sessions"],
      ["POST", "/admin/accounts/acc_nope/block"],
      ["POST", "/admin/accounts/acc_nope/unblock"],
    ] as const) {
      const res = await adminFetch(path, {
        method,
        json: method === "POST" ? { amount: 1, reason: "x" } : undefined,
      });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
    }
    expect(await auditFor("acc_nope")).toEqual([]);
  });
});

describe("POST /admin/accounts/:id/adjust", () => {
  it("adds tokens as an adjustment entry, audited, visible in the ledger", async () => {
    const a = await makeAccount({ email: "adjust@example.com", tokens: 2 });
    const res = await adminJson<{ adjusted: number; tokens: { available: number } }>(
      `/admin/accounts/${a.id}/adjust`,
      { method: "POST", json: { amount: 5, reason: "Compensation for outage #12" } },
    );
    expect(res).toMatchObject({ adjusted: 5, tokens: { available: 7 } });

    const ledger = await adminJson<{
      items: { type: string; amount: number; balanceAfter: number; description: string }[];
    }>(`/admin/accounts/${a.id}/transactions`);
    expect(ledger.items[0]).toMatchObject({
      type: "adjustment",
      amount: 5,
      balanceAfter: 7,
      description: "Compensation for outage #12",
    });

    const [entry] = await auditFor(a.id);
    expect(entry).toMatchObject({
      action: "account.adjust",
      target: a.id,
      before: { available: 2 },
      after: { available: 7, adjusted: 5, reason: "Compensation for outage #12" },
    });
    expect(entry?.actor).toMatch(/^admin:[0-9a-f]{12}$/);
    expect(entry?.actor).not.toContain("test-admin-token");
    expect(entry?.requestId).toBeTruthy();
  });

  it("never takes the balance below zero", async () => {
    const a = await makeAccount({ email: "negative@example.com", tokens: 3 });
    const res = await adminJson<{ adjusted: number; tokens: { available: number } }>(
      `/admin/accounts/${a.id}/adjust`,
      { method: "POST", json: { amount: -10, reason: "Abuse" } },
    );
    expect(res).toMatchObject({ adjusted: -3, tokens: { available: 0 } });
    const again = await adminJson<{ adjusted: number; tokens: { available: number } }>(
      `/admin/accounts/${a.id}/adjust`,
      { method: "POST", json: { amount: -1, reason: "Abuse" } },
    );
    expect(again).toMatchObject({ adjusted: 0, tokens: { available: 0 } });
  });

  it("applies a retried Idempotency-Key once, and refuses the key with another body", async () => {
    const a = await makeAccount({ email: "idem@example.com" });
    const init = { method: "POST", headers: { "Idempotency-Key": "adjust-once-0001" } };
    const first = await adminJson<{ tokens: { available: number } }>(`/admin/accounts/${a.id}/adjust`, {
      ...init,
      json: { amount: 4, reason: "Goodwill" },
    });
    const retry = await adminJson<{ tokens: { available: number }; replayed?: boolean }>(
      `/admin/accounts/${a.id}/adjust`,
      {
        ...init,
        json: { amount: 4, reason: "Goodwill" },
      },
    );
    expect(first.tokens.available).toBe(4);
    expect(retry).toMatchObject({ tokens: { available: 4 }, replayed: true });
    expect(first).not.toHaveProperty("replayed");
    const other = await adminFetch(`/admin/accounts/${a.id}/adjust`, {
      ...init,
      json: { amount: 40, reason: "Goodwill" },
    });
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({ error: { code: "idempotency_conflict" } });
    expect((await auditFor(a.id)).filter((e) => e.action === "account.adjust")).toHaveLength(1);
  });

  it("treats two calls without a key as two adjustments", async () => {
    const a = await makeAccount({ email: "twice@example.com" });
    for (let i = 0; i < 2; i++) {
      await adminJson(`/admin/accounts/${a.id}/adjust`, {
        method: "POST",
        json: { amount: 1, reason: "Bonus" },
      });
    }
    const d = await adminJson<{ tokens: { available: number } }>(`/admin/accounts/${a.id}`);
    expect(d.tokens.available).toBe(2);
  });

  it("refuses bad input with 400 and changes nothing", async () => {
    const a = await makeAccount({ email: "bad-adjust@example.com", tokens: 1 });
    const bodies: [unknown, string?][] = [
      [{ amount: 0, reason: "zero" }],
      [{ amount: 1.5, reason: "fraction" }],
      [{ amount: "5", reason: "string" }],
      [{ amount: 5 }],
      [{ amount: 5, reason: "   " }],
      [{ amount: 10_000_000, reason: "typo" }],
      [{ amount: 5, reason: "bad key" }, "short"],
    ];
    for (const [json, key] of bodies) {
      const res = await adminFetch(`/admin/accounts/${a.id}/adjust`, {
        method: "POST",
        json,
        headers: key ? { "Idempotency-Key": key } : {},
      });
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "invalid_request" } });
    }
    const malformed = await adminFetch(`/admin/accounts/${a.id}/adjust`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{not json",
    });
    expect(malformed.status).toBe(400);
    const notJson = await adminFetch(`/admin/accounts/${a.id}/adjust`, {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body: JSON.stringify({ amount: 5, reason: "plain" }),
    });
    expect(notJson.status).toBe(400);
    const d = await adminJson<{ tokens: { available: number } }>(`/admin/accounts/${a.id}`);
    expect(d.tokens.available).toBe(1);
    expect(await auditFor(a.id)).toEqual([]);
  });
});

describe("sessions and blocking", () => {
  it("revokes every session of an account, audited", async () => {
    const a = await makeAccount({ email: "revoke@example.com" });
    expect((await fetchMe(a.token)).status).toBe(200);
    const res = await adminJson<{ revoked: number }>(`/admin/accounts/${a.id}/revoke-sessions`, {
      method: "POST",
    });
    expect(res.revoked).toBe(1);
    expect((await fetchMe(a.token)).status).toBe(401);
    const [entry] = await auditFor(a.id);
    expect(entry).toMatchObject({
      action: "account.revoke_sessions",
      before: { activeSessions: 1 },
      after: { activeSessions: 0 },
    });
  });

  it("blocks and unblocks an account, each audited with before and after", async () => {
    const a = await makeAccount({ email: "block@example.com" });
    const blocked = await adminJson<{ account: { status: string } }>(`/admin/accounts/${a.id}/block`, {
      method: "POST",
    });
    expect(blocked.account.status).toBe("blocked");
    const found = await adminJson<{ items: { status: string }[] }>(`/admin/accounts?query=${a.id}`);
    expect(found.items[0]?.status).toBe("blocked");
    const unblocked = await adminJson<{ account: { status: string } }>(`/admin/accounts/${a.id}/unblock`, {
      method: "POST",
    });
    expect(unblocked.account.status).toBe("active");
    const entries = await auditFor(a.id);
    expect(entries.map((e) => [e.action, e.before, e.after])).toEqual([
      ["account.unblock", { status: "blocked" }, { status: "active" }],
      ["account.block", { status: "active" }, { status: "blocked" }],
    ]);
  });
});

describe("GET /admin/audit", () => {
  it("pages newest first and filters by action", async () => {
    const a = await makeAccount({ email: "audit-pages@example.com" });
    for (let i = 0; i < 3; i++) {
      await adminJson(`/admin/accounts/${a.id}/adjust`, {
        method: "POST",
        json: { amount: i + 1, reason: `r${i}` },
      });
    }
    type Page = { items: AuditItem[]; nextCursor?: string };
    const first = await adminJson<Page>(`/admin/audit?target=${a.id}&limit=2`);
    expect(first.items.map((e) => e.after?.reason)).toEqual(["r2", "r1"]);
    const second = await adminJson<Page>(`/admin/audit?target=${a.id}&limit=2&cursor=${first.nextCursor}`);
    expect(second.items.map((e) => e.after?.reason)).toEqual(["r0"]);
    expect(second.nextCursor).toBeUndefined();
    const blocks = await adminJson<Page>("/admin/audit?action=account.block");
    expect(blocks.items.every((e) => e.action === "account.block")).toBe(true);
  });

  it("refuses a bad limit with 400", async () => {
    expect((await adminFetch("/admin/audit?limit=-1")).status).toBe(400);
  });
});

function fetchMe(token: string) {
  return adminFetch("/api/me", { headers: { Authorization: `Bearer ${token}` } });
}
