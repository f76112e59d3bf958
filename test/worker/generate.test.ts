import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { FAKE_TICKET } from "../fakes/openrouter.fake";
import {
  balance,
  eventually,
  fundedAccount,
  generate,
  generationRows,
  keptRecord,
  ledger,
  parseSse,
  readUntil,
  ticketBody,
  upstream,
} from "./generate-helpers";

interface GenerateJson {
  generation: { id: string; title: string; description: string };
  charged: number;
  tokens: { available: number; held: number };
  replayed?: boolean;
}

describe("POST /api/generate against OpenRouter (loopback fake)", () => {
  it("streams a ticket, charges the base cost once, and records it", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/ok");
    const { res, settled } = await generate(up.env, a.token, ticketBody(), { sse: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    // The hold is already taken when the stream starts.
    expect(res.headers.get("X-Tokens-Remaining")).toBe("2");
    const events = parseSse(await res.text());
    await settled();

    expect(events[0]).toMatchObject({ event: "start", data: { held: 1 } });
    const generationId = events[0]?.data.generationId;
    expect(generationId).toMatch(/^gen_/);
    const deltas = events.filter((e) => e.event === "delta");
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.map((e) => e.data.text).join("")).toBe(FAKE_TICKET);
    const done = events.at(-1);
    expect(done?.event).toBe("done");
    expect(done?.data).toMatchObject({
      generationId,
      title: "Fix the login redirect loop on Safari",
      charged: 1,
      tokens: { available: 2, held: 0 },
    });
    expect(String(done?.data.description)).toMatch(/^## Steps to reproduce/);
    expect(String(done?.data.description)).toContain("## Acceptance criteria");

    expect((await balance(a.id)).available).toBe(2);
    const usage = (await ledger(a.id)).filter((e) => e.type === "usage");
    expect(usage).toMatchObject([{ amount: -1, balanceAfter: 2, feature: "generate", generationId }]);

    const [row] = await generationRows(a.id);
    expect(row).toMatchObject({
      id: generationId,
      status: "succeeded",
      model: "fake/ok",
      charged: 1,
      held: 1,
      inputTokens: 412,
      outputTokens: 120,
      costUsd: 0.00021,
      site: "jira",
      feature: "generate",
    });
    expect(row?.latencyMs).toBeGreaterThanOrEqual(0);
    // The text is kept in the account's object, not in D1 (docs/decisions/018).
    expect(row).toMatchObject({ prompt: null, context: null, title: null, description: null, output: null });
    expect(await keptRecord(a.id, String(generationId))).toMatchObject({
      prompt: ticketBody().prompt,
      title: "Fix the login redirect loop on Safari",
      output: FAKE_TICKET,
    });
  });

  it("calls OpenRouter as documented: streaming, usage requested, app headers", async () => {
    const a = await fundedAccount(1);
    const up = upstream("fake/ok");
    const { res, settled } = await generate(
      up.env,
      a.token,
      ticketBody({ site: "gitlab", issueType: "story" }),
    );
    expect(res.status).toBe(200);
    await settled();
    const [call] = await up.requests();
    expect(call?.headers).toMatchObject({ "http-referer": "https://myba.app", "x-title": "MyBA" });
    expect(call?.headers.authorization).toMatch(/^Bearer sk-or-test-/);
    expect(call?.body).toMatchObject({
      model: "fake/ok",
      stream: true,
      usage: { include: true },
      stream_options: { include_usage: true },
    });
    expect(call?.body.max_tokens).toBeGreaterThan(0);
    const messages = call?.body.messages as { role: string; content: string }[];
    expect(messages[0]?.content).toContain("GitLab");
    expect(messages[0]?.content).toContain("- [ ]");
    expect(messages[1]?.content).toContain("Login loops forever");
  });

  it("answers JSON when the client does not ask for a stream", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/ok");
    const { res, settled } = await generate(up.env, a.token, ticketBody());
    await settled();
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Tokens-Remaining")).toBe("2");
    const body = await res.json<GenerateJson>();
    expect(body).toMatchObject({
      generation: { title: "Fix the login redirect loop on Safari" },
      charged: 1,
      tokens: { available: 2, held: 0 },
    });
    expect(body.generation.id).toMatch(/^gen_/);
  });

  it("parses a ticket the model wrapped in chatter and a code fence", async () => {
    const a = await fundedAccount(1);
    const { res, settled } = await generate(upstream("fake/chatter").env, a.token, ticketBody());
    await settled();
    const body = await res.json<GenerateJson>();
    expect(body.generation.title).toBe("Fix the login redirect loop on Safari");
    expect(body.generation.description).toMatch(/^## Steps to reproduce/);
    expect(body.generation.description).not.toMatch(/```|Let me know|Sure!/);
  });
});

describe("failures charge nothing", () => {
  for (const [model, kind] of [
    ["fake/429", "http"],
    ["fake/500", "http"],
    ["fake/402", "http"],
  ] as const) {
    it(`${model} before the stream: error event, charged 0, balance intact`, async () => {
      const a = await fundedAccount(3);
      const up = upstream(model);
      const { res, settled } = await generate(up.env, a.token, ticketBody(), { sse: true });
      expect(res.status).toBe(200);
      const events = parseSse(await res.text());
      await settled();
      expect(events.map((e) => e.event)).toEqual(["start", "error"]);
      expect(events[1]?.data).toMatchObject({
        code: "upstream_error",
        charged: 0,
        tokens: { available: 3, held: 0 },
      });
      expect(String(events[1]?.data.message)).toContain("Nothing was charged");
      expect(await balance(a.id)).toMatchObject({ available: 3, held: 0, used: 0 });
      expect((await ledger(a.id)).map((e) => e.type)).toEqual(["grant"]);
      expect(await generationRows(a.id)).toMatchObject([{ status: "failed", errorCode: kind, charged: 0 }]);
    });
  }

  it("answers 502 upstream_error in JSON mode, with charged 0", async () => {
    const a = await fundedAccount(2);
    const { res, settled } = await generate(upstream("fake/500").env, a.token, ticketBody());
    await settled();
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({
      error: { code: "upstream_error", charged: 0, tokens: { available: 2 } },
    });
    expect((await balance(a.id)).available).toBe(2);
  });

  it("voids the hold when an error chunk arrives mid-stream", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/error-mid", { OPENROUTER_FALLBACK_MODELS: "fake/ok" });
    const { res, settled } = await generate(up.env, a.token, ticketBody(), { sse: true });
    const events = parseSse(await res.text());
    await settled();
    // Text was already shown, so no fallback: the error is final.
    expect(events.map((e) => e.event)).toEqual(["start", "delta", "delta", "error"]);
    expect(events.at(-1)?.data).toMatchObject({ code: "upstream_error", charged: 0 });
    expect((await up.requests()).map((r) => r.model)).toEqual(["fake/error-mid"]);
    expect((await balance(a.id)).available).toBe(3);
    expect((await ledger(a.id)).filter((e) => e.type === "usage")).toEqual([]);
    expect(await generationRows(a.id)).toMatchObject([{ status: "failed", errorCode: "stream_error" }]);
  });

  it("voids the hold when the stream ends without [DONE]", async () => {
    const a = await fundedAccount(3);
    const { res, settled } = await generate(upstream("fake/cut").env, a.token, ticketBody(), { sse: true });
    const events = parseSse(await res.text());
    await settled();
    expect(events.at(-1)).toMatchObject({ event: "error", data: { charged: 0 } });
    expect((await balance(a.id)).available).toBe(3);
    expect(await generationRows(a.id)).toMatchObject([{ status: "failed", errorCode: "stream_cut" }]);
  });

  it("gives up on a stalled stream after the timeout and cancels the upstream request", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/stall", { OPENROUTER_STALL_TIMEOUT_MS: "300" });
    const started = Date.now();
    const { res, settled } = await generate(up.env, a.token, ticketBody(), { sse: true });
    const events = parseSse(await res.text());
    await settled();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(events.map((e) => e.event)).toEqual(["start", "delta", "error"]);
    expect(events.at(-1)?.data).toMatchObject({ code: "upstream_error", charged: 0 });
    expect(String(events.at(-1)?.data.message)).toMatch(/in time/);
    expect((await balance(a.id)).available).toBe(3);
    expect(await generationRows(a.id)).toMatchObject([{ status: "failed", errorCode: "timeout" }]);
    const calls = await eventually(up.requests, (r) => r[0]?.aborted === true);
    expect(calls[0]?.aborted).toBe(true);
  });
});

describe("fallback models", () => {
  it("tries the next model when one fails before streaming", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/429", { OPENROUTER_FALLBACK_MODELS: "fake/500, fake/error-first,fake/ok" });
    const { res, settled } = await generate(up.env, a.token, ticketBody(), { sse: true });
    const events = parseSse(await res.text());
    await settled();
    expect(events.at(-1)).toMatchObject({ event: "done", data: { charged: 1 } });
    expect((await up.requests()).map((r) => r.model)).toEqual([
      "fake/429",
      "fake/500",
      "fake/error-first",
      "fake/ok",
    ]);
    expect(await generationRows(a.id)).toMatchObject([{ status: "succeeded", model: "fake/ok" }]);
  });

  it("does not try other models when OpenRouter refuses our account (402)", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/402", { OPENROUTER_FALLBACK_MODELS: "fake/ok" });
    const { res, settled } = await generate(up.env, a.token, ticketBody());
    await settled();
    expect(res.status).toBe(502);
    expect((await up.requests()).map((r) => r.model)).toEqual(["fake/402"]);
  });
});

describe("a client that disconnects", () => {
  it("after the first delta pays the base cost, and the upstream request is cancelled", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/slow");
    const { res, settled } = await generate(up.env, a.token, ticketBody(), { sse: true });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const seen = await readUntil(reader, (events) => events.some((e) => e.event === "delta"));
    const generationId = seen[0]?.data.generationId;
    await reader.cancel();
    await settled();

    expect(await balance(a.id)).toMatchObject({ available: 2, held: 0, used: 1 });
    expect((await ledger(a.id)).filter((e) => e.type === "usage")).toMatchObject([
      { amount: -1, generationId },
    ]);
    const [row] = await generationRows(a.id);
    expect(row).toMatchObject({ status: "cancelled", charged: 1, errorCode: "client_closed" });
    expect((await keptRecord(a.id, String(generationId)))?.output).toMatch(/^Title: A slow ticket/);
    const calls = await eventually(up.requests, (r) => r[0]?.aborted === true);
    expect(calls[0]).toMatchObject({ aborted: true, finished: false });
  });

  it("before any delta pays nothing", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/late");
    const { res, settled } = await generate(up.env, a.token, ticketBody(), { sse: true });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await readUntil(reader, (events) => events.some((e) => e.event === "start"));
    await reader.cancel();
    await settled();
    expect(await balance(a.id)).toMatchObject({ available: 3, held: 0 });
    expect(await generationRows(a.id)).toMatchObject([{ status: "cancelled", charged: 0 }]);
    // The upstream request was cancelled before or after it reached the fake; it never completed.
    await new Promise((r) => setTimeout(r, 600));
    expect((await up.requests()).filter((r) => r.finished || !r.aborted)).toEqual([]);
  });
});

describe("tokens", () => {
  it("refuses with 402 before any upstream call when the balance is short", async () => {
    const a = await fundedAccount(1);
    const up = upstream("fake/ok");
    const { res, settled } = await generate(up.env, a.token, ticketBody({ feature: "subtasks" }), {
      sse: true,
    });
    await settled();
    expect(res.status).toBe(402);
    expect(res.headers.get("X-Tokens-Remaining")).toBe("1");
    expect(await res.json()).toMatchObject({
      error: { code: "insufficient_tokens", required: 2, available: 1, shortage: 1 },
    });
    expect(await up.requests()).toEqual([]);
    expect(await generationRows(a.id)).toEqual([]);
    expect(await balance(a.id)).toMatchObject({ available: 1, held: 0 });
  });

  it("lets a refused key be used again once tokens arrived", async () => {
    const a = await fundedAccount(0);
    const up = upstream("fake/ok");
    const first = await generate(up.env, a.token, ticketBody(), { key: "topup-key-1" });
    expect(first.res.status).toBe(402);
    await fundedAccountGrant(a.id, 1);
    const second = await generate(up.env, a.token, ticketBody(), { key: "topup-key-1" });
    await second.settled();
    expect(second.res.status).toBe(200);
    expect((await balance(a.id)).available).toBe(0);
  });

  it("with a balance of B, N > B concurrent requests give B successes and N − B 402s", async () => {
    const a = await fundedAccount(3);
    const bindings = { ...env, OPENROUTER_API_KEY: undefined };
    const calls = await Promise.all(
      Array.from({ length: 7 }, () => generate(bindings, a.token, ticketBody())),
    );
    await Promise.all(calls.map((c) => c.settled()));
    const statuses = calls.map((c) => c.res.status).sort();
    expect(statuses).toEqual([200, 200, 200, 402, 402, 402, 402]);
    expect(await balance(a.id)).toMatchObject({ available: 0, held: 0, used: 3 });
    const entries = await ledger(a.id);
    expect(entries.reduce((n, e) => n + e.amount, 0)).toBe(0);
  });
});

async function fundedAccountGrant(accountId: string, amount: number) {
  const { wallet } = await import("../../worker/wallet/client");
  await wallet(env, accountId).grant({
    key: `topup:${accountId}`,
    source: "promo",
    amount,
    description: "Top-up",
  });
}

describe("idempotency", () => {
  it("a retry with the same key and body returns the first result and charges once", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/ok");
    const first = await generate(up.env, a.token, ticketBody(), { key: "same-key-123" });
    await first.settled();
    const one = await first.res.json<GenerateJson>();
    const again = await generate(up.env, a.token, ticketBody(), { key: "same-key-123" });
    await again.settled();
    const two = await again.res.json<GenerateJson>();
    expect(again.res.status).toBe(200);
    expect(two.generation).toEqual(one.generation);
    expect(two).toMatchObject({ charged: 1, replayed: true, tokens: { available: 2 } });

    // Replayed as a stream too.
    const streamed = await generate(up.env, a.token, ticketBody(), { key: "same-key-123", sse: true });
    const events = parseSse(await streamed.res.text());
    expect(events.map((e) => e.event)).toEqual(["start", "delta", "done"]);
    expect(events.at(-1)?.data).toMatchObject({ generationId: one.generation.id, replayed: true });

    expect(await up.requests()).toHaveLength(1);
    expect((await balance(a.id)).available).toBe(2);
    expect((await ledger(a.id)).filter((e) => e.type === "usage")).toHaveLength(1);
    expect(await generationRows(a.id)).toHaveLength(1);
  });

  it("the same key with another body is a 409 idempotency_conflict that changes nothing", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/ok");
    const first = await generate(up.env, a.token, ticketBody(), { key: "conflict-key-1" });
    await first.settled();
    const other = await generate(up.env, a.token, ticketBody({ prompt: "Something else" }), {
      key: "conflict-key-1",
    });
    expect(other.res.status).toBe(409);
    expect(await other.res.json()).toMatchObject({ error: { code: "idempotency_conflict" } });
    expect(await up.requests()).toHaveLength(1);
    expect((await balance(a.id)).available).toBe(2);
  });

  it("a duplicate while the first is still streaming is a 409 request_in_progress", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/slow");
    const first = await generate(up.env, a.token, ticketBody(), { key: "inflight-key", sse: true });
    const reader = (first.res.body as ReadableStream<Uint8Array>).getReader();
    await readUntil(reader, (events) => events.some((e) => e.event === "delta"));
    const dup = await generate(up.env, a.token, ticketBody(), { key: "inflight-key", sse: true });
    expect(dup.res.status).toBe(409);
    expect(await dup.res.json()).toMatchObject({ error: { code: "request_in_progress" } });
    await reader.cancel();
    await first.settled();
    expect(await up.requests()).toHaveLength(1);
    expect((await balance(a.id)).available).toBe(2);
  });

  it("replays a failure as a failure, still charging nothing", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/500");
    const first = await generate(up.env, a.token, ticketBody(), { key: "failed-key-1" });
    await first.settled();
    const again = await generate(up.env, a.token, ticketBody(), { key: "failed-key-1" });
    expect(again.res.status).toBe(502);
    expect(await again.res.json()).toMatchObject({ error: { code: "upstream_error", charged: 0 } });
    expect(await up.requests()).toHaveLength(1);
    expect((await balance(a.id)).available).toBe(3);
  });
});

describe("bad input changes nothing", () => {
  it("requires an Idempotency-Key of 8 to 128 characters", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/ok");
    for (const key of ["", "short", "x".repeat(129), "has spaces in it"]) {
      const { res } = await generate(up.env, a.token, ticketBody(), { key });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        error: { code: "invalid_request", issues: [{ path: "idempotency-key" }] },
      });
    }
    expect(await up.requests()).toEqual([]);
    expect((await balance(a.id)).available).toBe(3);
  });

  it("answers 400 with issues for a malformed body", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/ok");
    const cases: unknown[] = [
      ticketBody({ site: "github" }),
      ticketBody({ feature: "poem" }),
      ticketBody({ issueType: "saga" }),
      ticketBody({ prompt: "   " }),
      { site: "jira" },
      "not json",
    ];
    for (const body of cases) {
      const { res } = await generate(up.env, a.token, body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "invalid_request" } });
    }
    expect(await up.requests()).toEqual([]);
    expect(await generationRows(a.id)).toEqual([]);
  });

  it("answers 413 for a prompt or context that is too long", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/ok");
    const tooLong = [
      ticketBody({ prompt: "x".repeat(4001) }),
      ticketBody({ feature: "refine", context: { description: "y".repeat(20_001) } }),
      ticketBody({ context: { url: `https://example.com/${"z".repeat(2100)}` } }),
    ];
    for (const body of tooLong) {
      const { res } = await generate(up.env, a.token, body);
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ error: { code: "payload_too_large" } });
    }
    const ok = await generate(up.env, a.token, ticketBody({ prompt: "x".repeat(4000) }));
    await ok.settled();
    expect(ok.res.status).toBe(200);
    expect(await up.requests()).toHaveLength(1);
  });

  it("refuses without a session, and a blocked account", async () => {
    const up = upstream("fake/ok");
    const anonymous = await generate(up.env, "myba_nope", ticketBody());
    expect(anonymous.res.status).toBe(401);
    const blocked = await fundedAccount(3, { blocked: true });
    const { res } = await generate(up.env, blocked.token, ticketBody());
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: "forbidden" } });
    expect(await up.requests()).toEqual([]);
    expect((await balance(blocked.id)).available).toBe(3);
  });
});

describe("output length", () => {
  it("cuts an overlong answer, stops the upstream request and still delivers a ticket", async () => {
    const a = await fundedAccount(3);
    const up = upstream("fake/long");
    const { res, settled } = await generate(up.env, a.token, ticketBody());
    await settled();
    expect(res.status).toBe(200);
    const body = await res.json<GenerateJson>();
    expect(body.generation.title).toBe("Long");
    const [row] = await generationRows(a.id);
    expect((await keptRecord(a.id, String(row?.id)))?.output?.length).toBe(16_000);
    expect(row?.status).toBe("succeeded");
    expect((await balance(a.id)).available).toBe(2);
    const calls = await eventually(up.requests, (r) => r[0]?.aborted === true);
    expect(calls[0]?.aborted).toBe(true);
  });
});

describe("the mock provider (no OPENROUTER_API_KEY)", () => {
  it("streams a ticket built from the prompt through the same path, worded anew on each regenerate", async () => {
    const a = await fundedAccount(3);
    const bindings = { ...env, OPENROUTER_API_KEY: undefined };
    const body = ticketBody({ site: "gitlab", issueType: "bug", prompt: "Export to CSV drops the last row" });
    const streamed = await generate(bindings, a.token, body, { sse: true, key: "mock-regenerate-0001" });
    const events = parseSse(await streamed.res.text());
    await streamed.settled();
    const done = events.at(-1);
    expect(done).toMatchObject({
      event: "done",
      data: { title: "Export to CSV drops the last row", charged: 1 },
    });
    expect(String(done?.data.description)).toContain("### Steps to reproduce");
    expect(String(done?.data.description)).toContain("- [ ] ");
    expect(events.filter((e) => e.event === "delta").length).toBeGreaterThan(3);

    // A regenerate sends a new key: the same ticket, worded differently, as a model would.
    const again = await generate(bindings, a.token, body, { key: "mock-regenerate-0002" });
    await again.settled();
    const json = await again.res.json<GenerateJson>();
    expect(json.generation.title).toBe(done?.data.title);
    expect(json.generation.description).toContain("### Steps to reproduce");
    expect(json.generation.description).not.toBe(done?.data.description);
    const rows = await generationRows(a.id);
    expect(rows.map((r) => r.model)).toEqual(["myba/mock-ticket-writer", "myba/mock-ticket-writer"]);
    expect(rows[0]?.outputTokens).toBeGreaterThan(0);
    expect((await balance(a.id)).available).toBe(1);
  });
});
