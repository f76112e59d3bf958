import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { fundedAccount, generate, ticketBody, upstream } from "./generate-helpers";

const get = (path: string, token: string) =>
  app.request(path, { headers: { Authorization: `Bearer ${token}` } }, env);

async function ticket(bindings: ReturnType<typeof upstream>["env"], token: string, over = {}) {
  const { res, settled } = await generate(bindings, token, ticketBody(over));
  await settled();
  return res;
}

describe("GET /api/me/generations", () => {
  it("lists the account's generations newest first, paginated, and only its own", async () => {
    const a = await fundedAccount(10);
    const other = await fundedAccount(2);
    const ok = upstream("fake/ok").env;
    await ticket(ok, a.token, { prompt: "first" });
    await ticket(upstream("fake/500").env, a.token, { prompt: "second" });
    await ticket(ok, a.token, { prompt: "third", site: "linear", feature: "refine", issueType: "task" });
    await ticket(ok, other.token, { prompt: "not yours" });

    const page1 = await get("/api/me/generations?limit=2", a.token);
    expect(page1.status).toBe(200);
    expect(page1.headers.get("X-Tokens-Remaining")).toBe("8");
    const body1 = await page1.json<{ items: Record<string, unknown>[]; nextCursor?: string }>();
    expect(body1.items.map((i) => i.prompt)).toEqual(["third", "second"]);
    expect(body1.items[0]).toMatchObject({
      site: "linear",
      feature: "refine",
      issueType: "task",
      title: "Fix the login redirect loop on Safari",
      charged: 1,
      model: "fake/ok",
      status: "succeeded",
    });
    expect(body1.items[1]).toMatchObject({ status: "failed", charged: 0 });
    expect(Date.parse(String(body1.items[0]?.createdAt))).not.toBeNaN();

    const page2 = await get(`/api/me/generations?limit=2&cursor=${body1.nextCursor}`, a.token);
    const body2 = await page2.json<{ items: Record<string, unknown>[]; nextCursor?: string }>();
    expect(body2.items.map((i) => i.prompt)).toEqual(["first"]);
    expect(body2.nextCursor).toBeUndefined();
  });

  it("answers 400 for a bad cursor or limit and 401 without a session", async () => {
    const a = await fundedAccount(0);
    expect((await get("/api/me/generations?cursor=123", a.token)).status).toBe(400);
    expect((await get("/api/me/generations?limit=1000", a.token)).status).toBe(400);
    expect((await app.request("/api/me/generations", {}, env)).status).toBe(401);
  });
});

describe("GET /api/me/generations/:id", () => {
  it("returns one generation as JSON or Markdown, and hides other accounts' generations", async () => {
    const a = await fundedAccount(2);
    const res = await ticket(upstream("fake/ok").env, a.token);
    const { generation } = await res.json<{ generation: { id: string } }>();

    const json = await get(`/api/me/generations/${generation.id}`, a.token);
    expect(await json.json()).toMatchObject({
      id: generation.id,
      site: "jira",
      feature: "generate",
      issueType: "bug",
      prompt: ticketBody().prompt,
      title: "Fix the login redirect loop on Safari",
      charged: 1,
      model: "fake/ok",
      status: "succeeded",
    });

    const md = await get(`/api/me/generations/${generation.id}?format=md`, a.token);
    expect(md.headers.get("Content-Type")).toMatch(/^text\/markdown/);
    const text = await md.text();
    expect(text).toMatch(/^# Fix the login redirect loop on Safari\n\n## Steps to reproduce/);
    expect(text).toContain("## Acceptance criteria");

    const stranger = await fundedAccount(0);
    const hidden = await get(`/api/me/generations/${generation.id}`, stranger.token);
    expect(hidden.status).toBe(404);
    expect(await hidden.json()).toMatchObject({ error: { code: "not_found" } });
    expect((await get(`/api/me/generations/${generation.id}?format=pdf`, a.token)).status).toBe(400);
  });
});

describe("GET /api/me/usage", () => {
  it("sums what was spent by feature, model, site and day; failures count for nothing", async () => {
    const a = await fundedAccount(10);
    const ok = upstream("fake/ok").env;
    await ticket(ok, a.token);
    await ticket(ok, a.token, { site: "gitlab", feature: "subtasks" });
    await ticket(upstream("fake/500").env, a.token);
    await ticket({ ...env, OPENROUTER_API_KEY: undefined }, a.token, { site: "linear" });

    const res = await get("/api/me/usage?days=7", a.token);
    expect(res.status).toBe(200);
    const usage = await res.json<Record<string, unknown> & { byDay: { date: string; spent: number }[] }>();
    expect(usage).toMatchObject({
      spent: 4,
      generations: 3,
      byFeature: { generate: { spent: 2, generations: 2 }, subtasks: { spent: 2, generations: 1 } },
      byModel: {
        "fake/ok": { spent: 3, generations: 2 },
        "myba/mock-ticket-writer": { spent: 1, generations: 1 },
      },
      bySite: { jira: { spent: 1 }, gitlab: { spent: 2 }, linear: { spent: 1 } },
    });
    expect(usage.byDay).toHaveLength(7);
    const today = new Date().toISOString().slice(0, 10);
    expect(usage.byDay.at(-1)).toEqual({ date: today, spent: 4, generations: 3 });
    expect(usage.byDay.slice(0, -1).every((d) => d.spent === 0)).toBe(true);

    expect((await get("/api/me/usage?days=0", a.token)).status).toBe(400);
    const stranger = await fundedAccount(0);
    expect(await (await get("/api/me/usage", stranger.token)).json()).toMatchObject({
      spent: 0,
      generations: 0,
    });
  });
});
