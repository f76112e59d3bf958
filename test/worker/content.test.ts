import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { moveContent } from "../../worker/admin/move-content";
import { app } from "../../worker/app";
import { sessionByToken } from "../../worker/lib/session";
import { wallet } from "../../worker/wallet/client";
import { anonymousSession, devLogin, uniqueId } from "./auth-helpers";
import { legacyRow, record } from "./content-helpers";
import { fundedAccount, generate, ticketBody, upstream } from "./generate-helpers";

/**
 * Ticket content kept with its owner (docs/decisions/018): the account's wallet
 * object answers history, by id and Markdown; D1 answers only for legacy rows
 * that still carry their text.
 */

type List = { items: { id: string; prompt: string; title: string; status: string }[]; nextCursor?: string };

const get = (path: string, token: string) =>
  app.request(path, { headers: { Authorization: `Bearer ${token}` } }, env);

async function listAll(token: string, limit = 2): Promise<List["items"]> {
  const items: List["items"] = [];
  let cursor: string | undefined;
  for (;;) {
    const res = await get(`/api/me/generations?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`, token);
    expect(res.status).toBe(200);
    const page = await res.json<List>();
    items.push(...page.items);
    if (!page.nextCursor) return items;
    cursor = page.nextCursor;
  }
}

/** Ids made in this order sort in this order (they are time-ordered). */
const ordered = (n: number) => Array.from({ length: n }, () => record().id);

describe("the wallet object's generation records", () => {
  it("imports idempotently by id: a repeat adds nothing and changes nothing", async () => {
    const { id: accountId } = await fundedAccount(0);
    const w = wallet(env, accountId);
    const rows = ordered(3).map((id) => record({ id }));
    expect(await w.importGenerations(rows)).toMatchObject({ ok: true, imported: 3, present: 0 });
    const changed = rows.map((r) => ({ ...r, title: "Overwritten?" }));
    expect(await w.importGenerations(changed)).toMatchObject({ ok: true, imported: 0, present: 3 });
    const exported = await w.exportGenerations();
    expect(exported).toEqual(rows);
  });

  it("keeps a ticket whose key the account already used, under a renamed key", async () => {
    const { id: accountId } = await fundedAccount(0);
    const w = wallet(env, accountId);
    const mine = record({ idempotencyKey: "same-key" });
    const moved = record({ idempotencyKey: "same-key" });
    await w.importGenerations([mine]);
    expect(await w.importGenerations([moved])).toMatchObject({ ok: true, imported: 1 });
    const exported = await w.exportGenerations();
    expect(exported.map((r) => [r.id, r.idempotencyKey])).toEqual([
      [mine.id, "same-key"],
      [moved.id, `moved:${moved.id}`],
    ]);
  });

  it("completes a pending record from a finished copy, never the other way", async () => {
    const { id: accountId } = await fundedAccount(0);
    const w = wallet(env, accountId);
    const pending = record({ status: "pending", title: null, description: null, output: null, charged: 0 });
    await w.importGenerations([pending]);
    const done = { ...pending, status: "succeeded" as const, title: "Done", description: "Body", charged: 1 };
    await w.importGenerations([done]);
    await w.importGenerations([pending]);
    expect(await w.exportGenerations()).toEqual([done]);
  });

  it("refuses a malformed import as a whole and stores nothing", async () => {
    const { id: accountId } = await fundedAccount(0);
    const w = wallet(env, accountId);
    const bad = { ...record(), site: "" };
    const result = await w.importGenerations([record(), bad]);
    expect(result).toMatchObject({ ok: false, code: "invalid_request" });
    expect(await w.exportGenerations()).toEqual([]);
  });

  it("lets an anonymous session read only its own, and older unattributed ones unless resumed", async () => {
    const { id: accountId } = await fundedAccount(0);
    const w = wallet(env, accountId);
    const [old = "", mine = "", theirs = ""] = ordered(3);
    await w.importGenerations([
      record({ id: old, sessionId: null }),
      record({ id: mine, sessionId: "ses_mine" }),
      record({ id: theirs, sessionId: "ses_theirs" }),
    ]);
    const ids = async (sessionFilter: { id: string; kind: "user" | "anonymous"; resumed?: boolean }) =>
      (await w.listGenerations({ sessionFilter })).items.map((r) => r.id);
    expect(await ids({ id: "ses_user", kind: "user" })).toEqual([theirs, mine, old]);
    expect(await ids({ id: "ses_mine", kind: "anonymous" })).toEqual([mine, old]);
    expect(await ids({ id: "ses_mine", kind: "anonymous", resumed: true })).toEqual([mine]);
    expect(await w.getGeneration({ id: theirs, session: { id: "ses_mine", kind: "anonymous" } })).toBeNull();
    expect(
      (await w.getGeneration({ id: theirs, session: { id: "ses_theirs", kind: "anonymous" } }))?.accountId,
    ).toBe(accountId);
  });

  it("forgets moved records but never a running one", async () => {
    const { id: accountId } = await fundedAccount(0);
    const w = wallet(env, accountId);
    const done = record();
    const running = record({ status: "pending" });
    await w.importGenerations([done, running]);
    expect(await w.removeGenerations([done.id, running.id])).toEqual({ removed: 1 });
    expect((await w.exportGenerations()).map((r) => r.id)).toEqual([running.id]);
  });
});

describe("GET /api/me/generations over the object and legacy D1 rows", () => {
  it("pages through both in one newest-first order, the object's copy winning", async () => {
    const a = await fundedAccount(0);
    const [g1, g2, g3, g4, g5] = ordered(5);
    await legacyRow(a.id, { id: g1, prompt: "legacy one" });
    await wallet(env, a.id).importGenerations([record({ id: g2, prompt: "kept two" })]);
    await legacyRow(a.id, { id: g3, prompt: "legacy three" });
    // Half moved: the object has it and D1 still has its text.
    await legacyRow(a.id, { id: g4, prompt: "stale copy" });
    await wallet(env, a.id).importGenerations([record({ id: g4, prompt: "kept four" })]);
    await wallet(env, a.id).importGenerations([record({ id: g5, prompt: "kept five" })]);
    // Another account's rows, in both places, stay out.
    const other = await fundedAccount(0);
    await legacyRow(other.id);
    await wallet(env, other.id).importGenerations([record()]);

    const all = await listAll(a.token, 2);
    expect(all.map((i) => i.prompt)).toEqual([
      "kept five",
      "kept four",
      "legacy three",
      "kept two",
      "legacy one",
    ]);
    expect(all.map((i) => i.id)).toEqual([g5, g4, g3, g2, g1]);
  });

  it("reads one by id and as Markdown from the object, 404 for another account", async () => {
    const a = await fundedAccount(0);
    const kept = record({ title: "Fix the export", description: "## Steps\n\n1. Export" });
    await wallet(env, a.id).importGenerations([kept]);
    const json = await get(`/api/me/generations/${kept.id}`, a.token);
    expect(await json.json()).toMatchObject({ id: kept.id, prompt: kept.prompt, title: "Fix the export" });
    const md = await get(`/api/me/generations/${kept.id}?format=md`, a.token);
    expect(await md.text()).toBe("# Fix the export\n\n## Steps\n\n1. Export\n");
    const stranger = await fundedAccount(0);
    expect((await get(`/api/me/generations/${kept.id}`, stranger.token)).status).toBe(404);
    expect((await get(`/api/me/generations/${"x".repeat(300)}`, a.token)).status).toBe(404);
  });
});

describe("sign-in moves the anonymous session's kept tickets to the user's object", () => {
  it("moves finished ones once, leaves a running one, and a repeat adds nothing", async () => {
    const anon = await anonymousSession(uniqueId());
    const session = await sessionByToken(env.DB, anon.token);
    const anonWallet = wallet(env, anon.account.id);
    const [first, second, running] = ordered(3);
    await anonWallet.importGenerations([
      record({ id: first, sessionId: session?.id ?? null, prompt: "first" }),
      record({ id: second, sessionId: session?.id ?? null, prompt: "second" }),
      record({ id: running, sessionId: session?.id ?? null, status: "pending" }),
    ]);
    const email = `${uniqueId("mover")}@example.test`;
    const user = await devLogin(email, anon.token);
    const history = await listAll(user.token, 10);
    expect(history.map((g) => g.id)).toEqual([second, first]);
    expect((await anonWallet.exportGenerations()).map((r) => r.id)).toEqual([running]);

    const again = await devLogin(email, anon.token);
    expect((await listAll(again.token, 10)).map((g) => g.id)).toEqual([second, first]);
    expect(await wallet(env, user.account.id).exportGenerations()).toHaveLength(2);
  });
});

describe("sign-in when the anonymous object cannot be reached", () => {
  it("still signs in, and the next sign-in with the same token moves the tickets", async () => {
    // A resumed session moves no tokens, so only the ticket move needs the anonymous object.
    const visitorId = uniqueId();
    await anonymousSession(visitorId);
    const anon = await anonymousSession(visitorId);
    const session = await sessionByToken(env.DB, anon.token);
    expect(session?.resumed).toBe(true);
    const anonWallet = wallet(env, anon.account.id);
    const kept = record({ sessionId: session?.id ?? null });
    await anonWallet.importGenerations([kept]);
    const email = `${uniqueId("later")}@example.test`;
    await anonWallet.stub.setFaults({ unavailable: true });
    const first = await devLogin(email, anon.token);
    expect(await listAll(first.token, 10)).toEqual([]);
    await anonWallet.stub.setFaults({ unavailable: false });
    const second = await devLogin(email, anon.token);
    expect((await listAll(second.token, 10)).map((g) => g.id)).toEqual([kept.id]);
  });
});

describe("a ticket made through /api/generate", () => {
  it("is kept with its text in the account's object only; D1 gets its metadata", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/ok").env;
    const { res, settled } = await generate(up, a.token, ticketBody({ prompt: "Kept where it belongs" }));
    await settled();
    const { generation } = await res.json<{ generation: { id: string } }>();

    // D1 knows it from its usage entry alone (docs/decisions/021), which holds no text.
    const row = await env.DB.prepare("SELECT * FROM generation_meta WHERE id = ?")
      .bind(generation.id)
      .first<Record<string, unknown>>();
    expect(row).toMatchObject({
      account_id: a.id,
      status: "succeeded",
      charged: 1,
      session_id: expect.any(String),
    });
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM generations WHERE id = ?")
        .bind(generation.id)
        .first("n"),
    ).toBe(0);
    const entry = await env.DB.prepare("SELECT * FROM ledger_entries WHERE generation_id = ?")
      .bind(generation.id)
      .first<Record<string, unknown>>();
    expect(entry?.generation_rollup).toBe(2);
    for (const column of ["idempotency_key", "description", "reference"]) {
      expect(entry?.[column]).toBeNull();
    }
    const history = await listAll(a.token, 10);
    expect(history).toMatchObject([
      { id: generation.id, prompt: "Kept where it belongs", title: "Fix the login redirect loop on Safari" },
    ]);
    const md = await (await get(`/api/me/generations/${generation.id}?format=md`, a.token)).text();
    expect(md).toMatch(/^# Fix the login redirect loop on Safari\n\n## Steps to reproduce/);
    // Nothing legacy to move: the job finds no text in D1 for it.
    expect(await moveContent(env, { restart: true })).toMatchObject({ failed: 0 });
    expect(await listAll(a.token, 10)).toEqual(history);
  });
});
