import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { generations } from "../../worker/db/schema";
import { GENERATE_LIMITS } from "../../worker/routes/generate";
import { wallet } from "../../worker/wallet/client";
import { type RecordRow, recordById } from "../../worker/wallet/records";
import {
  balance,
  fundedAccount,
  generate,
  generationRows,
  parseSse,
  readUntil,
  teamWith,
  ticketBody,
  upstream,
} from "./generate-helpers";

/** The generation's record as the account's own object keeps it. */
async function objectRecord(accountId: string, id: string): Promise<RecordRow | null> {
  return runInDurableObject(wallet(env, accountId).stub, async (_instance, state) =>
    recordById(state.storage.sql, id),
  );
}

async function objectRecords(accountId: string): Promise<RecordRow[]> {
  return runInDurableObject(wallet(env, accountId).stub, async (_instance, state) =>
    state.storage.sql.exec<RecordRow>("SELECT * FROM generations ORDER BY id").toArray(),
  );
}

describe("a generation's record in the account's object", () => {
  it("keeps the request and the ticket there; D1 gets the finished row once, without key or hash", async () => {
    const a = await fundedAccount(3);
    const key = crypto.randomUUID();
    const body = ticketBody({ context: { project: "Checkout", url: "https://jira.example.test/x" } });
    const { res, settled } = await generate(upstream("fake/ok").env, a.token, body, { key, sse: true });
    const events = parseSse(await res.text());
    await settled();
    const id = String(events[0]?.data.generationId);

    expect(await objectRecord(a.id, id)).toMatchObject({
      idempotency_key: key,
      prompt: body.prompt,
      context: JSON.stringify({ project: "Checkout", url: "https://jira.example.test/x" }),
      status: "succeeded",
      held: 1,
      charged: 1,
      title: "Fix the login redirect loop on Safari",
      model: "fake/ok",
      d1_synced: 1,
    });
    const [row] = await generationRows(a.id);
    expect(row).toMatchObject({ id, status: "succeeded", charged: 1, held: 1, model: "fake/ok" });
    expect(row?.idempotencyKey).toBeNull();
    expect(row?.requestHash).toBeNull();
    expect(row?.completedAt).not.toBeNull();
  });

  it("replays a key from the record, whatever D1 holds", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/ok");
    const key = crypto.randomUUID();
    const first = await generate(up.env, a.token, ticketBody(), { key });
    await first.settled();
    const one = await first.res.json<{ generation: { id: string; title: string } }>();
    await db(env.DB).delete(generations).where(eq(generations.id, one.generation.id));

    const again = await generate(up.env, a.token, ticketBody(), { key });
    expect(await again.res.json()).toMatchObject({
      generation: { id: one.generation.id, title: one.generation.title },
      charged: 1,
      replayed: true,
      tokens: { available: 2 },
    });
    const conflict = await generate(up.env, a.token, ticketBody({ prompt: "Another ticket" }), { key });
    expect(conflict.res.status).toBe(409);
    expect(await up.requests()).toHaveLength(1);
    expect((await balance(a.id)).available).toBe(2);
  });

  it("answers a key still running as in progress, and leaves no D1 row until it finishes", async () => {
    const a = await fundedAccount(3);
    const key = crypto.randomUUID();
    const slow = await generate(upstream("fake/slow").env, a.token, ticketBody(), { key, sse: true });
    const reader = (slow.res.body as ReadableStream<Uint8Array>).getReader();
    await readUntil(reader, (events) => events.some((e) => e.event === "delta"));

    const again = await generate(upstream("fake/ok").env, a.token, ticketBody(), { key });
    expect(again.res.status).toBe(409);
    expect(await again.res.json()).toMatchObject({ error: { code: "request_in_progress" } });
    expect(await generationRows(a.id)).toEqual([]);
    expect((await objectRecords(a.id)).map((r) => r.status)).toEqual(["pending"]);

    await reader.cancel();
    await slow.settled();
    expect(await generationRows(a.id)).toMatchObject([{ status: "cancelled" }]);
  });
});

describe("a record's D1 row while D1 is down", () => {
  it("reaches D1 through the alarm, even for a generation that charged nothing", async () => {
    const a = await fundedAccount(3);
    const w = wallet(env, a.id);
    await w.stub.setFaults({ d1: "down" });
    const failed = await generate(upstream("fake/500").env, a.token, ticketBody());
    await failed.settled();
    expect(failed.res.status).toBe(502);
    expect(await generationRows(a.id)).toEqual([]);
    // Retried within seconds, not at the released hold's deadline minutes away.
    const alarm = await runInDurableObject(w.stub, async (_instance, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(Number(alarm) - Date.now()).toBeLessThan(10_000);

    await w.stub.setFaults({ d1: "ok" });
    expect(await runDurableObjectAlarm(w.stub)).toBe(true);
    expect(await generationRows(a.id)).toMatchObject([{ status: "failed", charged: 0, errorCode: "http" }]);
    expect((await objectRecords(a.id))[0]).toMatchObject({ d1_synced: 1 });
  });
});

describe("the per-account rate limit in the account's object", () => {
  it("admits exactly the limit of a concurrent burst, refusing the rest with 429 before any hold", async () => {
    const a = await fundedAccount(100);
    const up = upstream("fake/ok");
    const n = GENERATE_LIMITS.account.limit + 5;
    const runs = await Promise.all(Array.from({ length: n }, () => generate(up.env, a.token, ticketBody())));
    await Promise.all(runs.map((r) => r.settled()));
    const statuses = runs.map((r) => r.res.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(GENERATE_LIMITS.account.limit);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    const refused = runs.find((r) => r.res.status === 429);
    expect(Number(refused?.res.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(await up.requests()).toHaveLength(GENERATE_LIMITS.account.limit);
    expect(await balance(a.id)).toMatchObject({ available: 100 - GENERATE_LIMITS.account.limit, held: 0 });
    // Refused requests leave no record: their keys are free.
    expect(await objectRecords(a.id)).toHaveLength(GENERATE_LIMITS.account.limit);
  });
});

describe("a team generation: the account's admission and the team's reserve in parallel", () => {
  it("undoes the admission when the team cannot pay: no record, the key works after a top-up", async () => {
    const member = await fundedAccount(5);
    const teamId = await teamWith(0, { [member.id]: null });
    const up = upstream("fake/ok");
    const key = crypto.randomUUID();
    const refused = await generate(up.env, member.token, ticketBody({ wallet: teamId }), { key });
    expect(refused.res.status).toBe(402);
    expect(await refused.res.json()).toMatchObject({ error: { code: "insufficient_tokens" } });
    expect(await objectRecords(member.id)).toEqual([]);
    expect(await balance(member.id)).toMatchObject({ available: 5, held: 0 });

    await wallet(env, teamId).grant({
      key: `topup:${teamId}`,
      source: "purchase",
      amount: 3,
      description: "Top-up",
    });
    const paid = await generate(up.env, member.token, ticketBody({ wallet: teamId }), { key });
    await paid.settled();
    expect(paid.res.status).toBe(200);
    expect(await paid.res.json()).toMatchObject({ charged: 1, tokens: { available: 2 } });
    expect((await balance(member.id)).available).toBe(5);
    const [record] = await objectRecords(member.id);
    expect(record).toMatchObject({ wallet_id: teamId, hold_id: null, status: "succeeded", charged: 1 });
  });

  it("releases the team's hold when the account's side refuses (its rate limit)", async () => {
    const member = await fundedAccount(0);
    const teamId = await teamWith(10, { [member.id]: null });
    await runInDurableObject(wallet(env, member.id).stub, async (_instance, state) => {
      state.storage.sql.exec(
        "INSERT INTO rate_limits (key, tat) VALUES (?, ?)",
        `generate:acc:${member.id}`,
        Date.now() + GENERATE_LIMITS.account.periodMs + 5_000,
      );
    });
    const up = upstream("fake/ok");
    const { res } = await generate(up.env, member.token, ticketBody({ wallet: teamId }));
    expect(res.status).toBe(429);
    expect(await up.requests()).toEqual([]);
    expect(await balance(teamId)).toMatchObject({ available: 10, held: 0 });
  });
});

/** The D1 binding, counting every statement the Worker prepares or sends. */
function countingD1(real: D1Database) {
  const calls: string[] = [];
  const db = new Proxy(real, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(prop === "prepare" ? String(args[0]).slice(0, 60) : String(prop));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { db, calls };
}

describe("between the request and the model", () => {
  it("reads and writes nothing in D1: one call to the account's object decides", async () => {
    const a = await fundedAccount(5);
    const up = upstream("fake/slow");
    // The first request of an isolate and of an object loads pricing and the session once.
    const warm = await generate(upstream("fake/ok").env, a.token, ticketBody());
    await warm.settled();

    const d1 = countingD1(env.DB);
    const { res, settled } = await generate({ ...up.env, DB: d1.db }, a.token, ticketBody(), { sse: true });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const events = await readUntil(reader, (e) => e.some((x) => x.event === "delta"));
    expect(events.some((e) => e.event === "delta")).toBe(true);
    expect(await up.requests()).toHaveLength(1);
    expect(d1.calls).toEqual([]);
    await reader.cancel();
    await settled();
    // The counter sees what goes through the binding.
    await d1.db.prepare("SELECT 1").first();
    expect(d1.calls).toEqual(["SELECT 1"]);
  });
});

describe("a generation its Worker never finished", () => {
  it("ends failed with its hold at the deadline, charged nothing, and a late finish changes nothing", async () => {
    const a = await fundedAccount(3);
    const w = wallet(env, a.id);
    const slow = await generate(upstream("fake/slow").env, a.token, ticketBody(), { sse: true });
    const reader = (slow.res.body as ReadableStream<Uint8Array>).getReader();
    const seen = await readUntil(reader, (events) => events.some((e) => e.event === "delta"));
    const id = String(seen.find((e) => e.event === "start")?.data.generationId);
    expect(await balance(a.id)).toMatchObject({ available: 2, held: 1 });

    // The Worker hangs past the hold's life: the object's alarm ends both.
    await w.stub.setFaults({ clockOffsetMs: 6 * 60_000 });
    expect(await runDurableObjectAlarm(w.stub)).toBe(true);
    expect(await objectRecord(a.id, id)).toMatchObject({
      status: "failed",
      charged: 0,
      error_code: "interrupted",
      d1_synced: 1,
    });
    // D1 keeps what a Worker that lost the object wrote itself, if anything (here, nothing).
    expect(await generationRows(a.id)).toEqual([]);
    expect(await balance(a.id)).toMatchObject({ available: 3, held: 0 });

    // The stream ends at last; its finish is answered from the record.
    await reader.cancel();
    await slow.settled();
    expect(await objectRecord(a.id, id)).toMatchObject({ status: "failed", error_code: "interrupted" });
    expect(await generationRows(a.id)).toEqual([]);
    expect(await balance(a.id)).toMatchObject({ available: 3, held: 0 });
  });
});
