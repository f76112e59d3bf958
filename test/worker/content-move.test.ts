import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { legacyContentLeft, moveContent } from "../../worker/admin/move-content";
import { app } from "../../worker/app";
import { createSession } from "../../worker/lib/session";
import { wallet } from "../../worker/wallet/client";
import type { PortableRecord } from "../../worker/wallet/records";
import { adminFetch, makeAccount } from "./admin-helpers";
import { d1TextRows, legacyRow } from "./content-helpers";

/**
 * The move of legacy generations' text out of D1 into each owner's wallet
 * object (docs/decisions/018): nothing lost, nothing doubled, resumable, and
 * every reader sees exactly what it saw before.
 */

const get = (path: string, token: string) =>
  app.request(path, { headers: { Authorization: `Bearer ${token}` } }, env);

/** Everything a reader can see of its generations: every page, each by id and as Markdown, usage. */
async function whatTheySee(token: string) {
  const items: { id: string }[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await (
      await get(`/api/me/generations?limit=2${cursor ? `&cursor=${cursor}` : ""}`, token)
    ).json<{ items: { id: string }[]; nextCursor?: string }>();
    items.push(...page.items);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  const each = await Promise.all(
    items.map(async (i) => ({
      json: await (await get(`/api/me/generations/${i.id}`, token)).json(),
      md: await (await get(`/api/me/generations/${i.id}?format=md`, token)).text(),
    })),
  );
  const usage = await (await get("/api/me/usage?days=30", token)).json();
  return { items, each, usage };
}

const rollups = async () =>
  (
    await env.DB.prepare(
      "SELECT * FROM stats_usage_daily ORDER BY day, feature, model, site, status, payer",
    ).all()
  ).results;

const byId = (rows: PortableRecord[]) => [...rows].sort((a, b) => (a.id < b.id ? -1 : 1));

/** Runs the job from the first id until a pass says done. */
async function moveAll(opts: { batchSize?: number } = {}) {
  let report = await moveContent(env, { restart: true, batches: 1, ...opts });
  let calls = 1;
  while (!report.done && calls < 100) {
    report = await moveContent(env, { batches: 1, ...opts });
    calls++;
  }
  return { report, calls };
}

describe("moving legacy generations' text into the owners' objects", () => {
  it("loses nothing, and every reader sees exactly what it saw before", async () => {
    const user = await makeAccount({ email: "mover@example.test" });
    const anon = await makeAccount({ kind: "anonymous", visitorId: "visitor-move" });
    const anonSession = await createSession(env, anon.id, "anonymous", { url: "http://localhost/" });
    const resumed = await createSession(env, anon.id, "anonymous", {
      resumed: true,
      url: "http://localhost/",
    });
    const day = 86_400_000;
    const seeded = [
      await legacyRow(user.id, { createdAt: Date.now() - 3 * day, prompt: "oldest" }),
      await legacyRow(user.id, {
        status: "failed",
        charged: 0,
        title: null,
        description: null,
        output: null,
      }),
      await legacyRow(user.id, { walletId: "team_x", site: "gitlab", feature: "subtasks" }),
      await legacyRow(user.id, { context: { title: "From the form", url: "https://jira.example/1" } }),
      await legacyRow(user.id, { title: "Émoji 🚀 and\nnewlines", description: "# Heading\n\n- a\n- b" }),
      await legacyRow(anon.id, { sessionId: null, prompt: "before sessions were recorded" }),
      await legacyRow(anon.id, { sessionId: anonSession.session.id }),
      await legacyRow(anon.id, { sessionId: resumed.session.id, site: "linear" }),
    ];
    const readers = [user.token, anon.token, anonSession.token, resumed.token];
    const before = await Promise.all(readers.map(whatTheySee));
    const rollupsBefore = await rollups();
    const rowsBefore = await env.DB.prepare("SELECT count(*) AS n FROM generations").first<{ n: number }>();

    const { report } = await moveAll({ batchSize: 3 });
    expect(report.done).toBe(true);

    // D1 keeps every row's metadata and none of its text.
    expect(await d1TextRows([user.id, anon.id])).toBe(0);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM generations").first()).toEqual(rowsBefore);
    // Each owner's object holds its rows, field for field.
    const kept = [
      ...(await wallet(env, user.id).exportGenerations()),
      ...(await wallet(env, anon.id).exportGenerations()),
    ];
    expect(byId(kept)).toEqual(byId(seeded));
    // History, by id, Markdown and usage, for each reader, as before; stats too.
    expect(await Promise.all(readers.map(whatTheySee))).toEqual(before);
    expect(before[2]?.items).toHaveLength(2);
    expect(before[3]?.items).toHaveLength(1);
    expect(await rollups()).toEqual(rollupsBefore);
  });

  it("resumes after a crash mid-batch: what an object did not acknowledge keeps its text", async () => {
    const [a, b, c] = [
      await makeAccount({ email: "a@x.test" }),
      await makeAccount({ email: "b@x.test" }),
      await makeAccount({ email: "c@x.test" }),
    ];
    const rows = { a: [] as PortableRecord[], b: [] as PortableRecord[], c: [] as PortableRecord[] };
    for (let i = 0; i < 3; i++) {
      rows.a.push(await legacyRow(a.id));
      rows.b.push(await legacyRow(b.id));
      rows.c.push(await legacyRow(c.id));
    }
    // A run that died after c's object took two rows and before D1 heard of it.
    await wallet(env, c.id).importGenerations(rows.c.slice(0, 2));
    // b's object cannot be reached during the first run.
    await wallet(env, b.id).stub.setFaults({ unavailable: true });
    const first = await moveContent(env, { restart: true, batches: 50 });
    expect(first.done).toBe(false);
    expect(first.failed).toBeGreaterThanOrEqual(3);
    expect(await d1TextRows([a.id, c.id])).toBe(0);
    expect(await d1TextRows([b.id])).toBe(3);
    await wallet(env, b.id).stub.setFaults({ unavailable: false });

    const { report } = await moveAll();
    expect(report.done).toBe(true);
    expect(await d1TextRows([a.id, b.id, c.id])).toBe(0);
    for (const [id, seeded] of [
      [a.id, rows.a],
      [b.id, rows.b],
      [c.id, rows.c],
    ] as const) {
      expect(byId(await wallet(env, id).exportGenerations())).toEqual(byId(seeded));
    }
  });

  it("walks in batches from a stored cursor, one batch per call", async () => {
    const a = await makeAccount({ email: "walk@x.test" });
    for (let i = 0; i < 5; i++) await legacyRow(a.id);
    const { report, calls } = await moveAll({ batchSize: 2 });
    expect(report.done).toBe(true);
    // 5 rows in batches of 2: three calls move them, one more finds the end.
    expect(calls).toBe(4);
    expect(await d1TextRows([a.id])).toBe(0);
    // Once done, a run costs one read and moves nothing, and readers stop asking D1 for text.
    expect(await moveContent(env)).toMatchObject({ done: true, read: 0, moved: 0 });
    expect(await legacyContentLeft(env)).toBe(false);
    await moveContent(env, { restart: true, batches: 0 });
    expect(await legacyContentLeft(env)).toBe(true);
  });

  it("leaves a young pending row for later: its generation may still finish in D1", async () => {
    const a = await makeAccount({ email: "pending@x.test" });
    const running = await legacyRow(a.id, {
      status: "pending",
      title: null,
      description: null,
      output: null,
    });
    const report = await moveContent(env, { restart: true, batches: 10 });
    expect(report.done).toBe(false);
    expect(await d1TextRows([a.id])).toBe(1);
    expect(await wallet(env, a.id).exportGenerations()).toEqual([]);
    // Days later it is dead and moves as it is.
    const later = await moveContent(env, { restart: true, batches: 10, now: Date.now() + 4 * 86_400_000 });
    expect(later.done).toBe(true);
    expect(await wallet(env, a.id).exportGenerations()).toEqual([running]);
  });

  it("runs from POST /admin/maintenance/move-content, for admins only", async () => {
    const a = await makeAccount({ email: "route@x.test" });
    await legacyRow(a.id);
    expect(
      (
        await adminFetch("/admin/maintenance/move-content?restart=1", {
          method: "POST",
          headers: { Authorization: "Bearer nope" },
        })
      ).status,
    ).toBe(401);
    expect((await adminFetch("/admin/maintenance/move-content?batches=0", { method: "POST" })).status).toBe(
      400,
    );
    const res = await adminFetch("/admin/maintenance/move-content?restart=1", { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ done: true, failed: 0 });
    expect(await d1TextRows([a.id])).toBe(0);
  });
});
