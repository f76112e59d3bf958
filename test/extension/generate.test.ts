import { beforeEach, describe, expect, it } from "vitest";
import { fakeBrowser } from "wxt/testing/fake-browser";
import { serveGeneratePort } from "@/entrypoints/background/generate";
import { createApi, type GenerateRequest } from "@/lib/api";
import type { BackgroundToPanel, PanelToBackground, PortLike } from "@/lib/messaging";
import { SessionManager } from "@/lib/session";
import { readSse } from "@/lib/sse";
import { accountItem, visitorIdItem } from "@/lib/storage";
import { fakeWorker, sse } from "./fake-worker";

const request: GenerateRequest = {
  site: "jira",
  feature: "generate",
  issueType: "bug",
  prompt: "Login fails on Safari",
  context: { title: "", description: "", project: "WEB", url: "https://acme.atlassian.net/" },
};

/** Both ends of a runtime Port: the panel's side posts, the background's side is served. */
function fakePort() {
  const received: BackgroundToPanel[] = [];
  const toBackground: ((m: PanelToBackground) => void)[] = [];
  const onDisconnect: (() => void)[] = [];
  const port: PortLike = {
    name: "myba:generate",
    postMessage: (m) => received.push(m as BackgroundToPanel),
    disconnect: () => {},
    onMessage: { addListener: (cb) => toBackground.push(cb as (m: PanelToBackground) => void) },
    onDisconnect: { addListener: (cb) => onDisconnect.push(cb) },
  };
  return {
    port,
    received,
    send: (m: PanelToBackground) => {
      for (const cb of toBackground) cb(m);
    },
    close: () => {
      for (const cb of onDisconnect) cb();
    },
    /** Resolves once the background posted a final message (done, error, stopped). */
    async settled(count = 1) {
      for (let i = 0; i < 200; i++) {
        if (
          received.filter((m) => m.type === "done" || m.type === "error" || m.type === "stopped").length >=
          count
        )
          return;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error(`no final message; got ${JSON.stringify(received)}`);
    },
  };
}

let keys = 0;
async function setup() {
  const worker = fakeWorker();
  const getApi = async () => createApi({ baseUrl: "http://api.test", fetch: worker.fetch });
  const session = new SessionManager(getApi);
  await visitorIdItem.setValue("visitor-abc-123");
  await session.refresh();
  const deps = { session, getApi, newKey: () => `key-${++keys}-abcdefgh` };
  const open = () => {
    const p = fakePort();
    serveGeneratePort(p.port, deps);
    return p;
  };
  const generateCalls = () => worker.calls.filter((c) => c.path === "/api/generate");
  return { worker, session, open, generateCalls };
}

beforeEach(() => {
  fakeBrowser.reset();
});

describe("readSse", () => {
  it("parses events split anywhere across chunks, CRLF line ends, comments and multi-line data", async () => {
    const text =
      ': keep-alive\r\n\r\nevent: delta\r\ndata: {"text":"a"}\r\n\r\nevent: delta\ndata: {"text":\ndata: "b"}\n\nevent: done\ndata: {}\n\n';
    const bytes = new TextEncoder().encode(text);
    // One byte at a time: every boundary, including inside CRLF and inside UTF-8, is exercised.
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    const events = [];
    for await (const e of readSse(body)) events.push(e);
    expect(events).toEqual([
      { event: "delta", data: '{"text":"a"}' },
      { event: "delta", data: '{"text":\n"b"}' },
      { event: "done", data: "{}" },
    ]);
  });

  it("decodes multi-byte characters split between chunks", async () => {
    const bytes = new TextEncoder().encode('event: delta\ndata: {"text":"é→✓"}\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, 24));
        c.enqueue(bytes.slice(24));
        c.close();
      },
    });
    const events = [];
    for await (const e of readSse(body)) events.push(JSON.parse(e.data).text);
    expect(events).toEqual(["é→✓"]);
  });
});

describe("the generation relay", () => {
  it("streams start, deltas and done to the panel, and caches the new balance", async () => {
    const { open, generateCalls } = await setup();
    const p = open();
    p.send({ type: "start", request, retry: false });
    await p.settled();

    expect(p.received.map((m) => m.type)).toEqual(["start", "delta", "delta", "done"]);
    expect(p.received.at(-1)).toMatchObject({ title: "Fix login", charged: 1 });
    const call = generateCalls()[0];
    expect(call?.headers.get("Accept")).toBe("text/event-stream");
    expect(call?.headers.get("Idempotency-Key")).toMatch(/^key-\d+-abcdefgh$/);
    expect(call?.body).toEqual(request);
    expect((await accountItem.getValue())?.tokens.available).toBe(2);
  });

  it("reuses the Idempotency-Key on a retry of the same generation, and takes a new one otherwise", async () => {
    const { open, generateCalls } = await setup();
    const p = open();
    const key = (i: number) => generateCalls()[i]?.headers.get("Idempotency-Key");

    p.send({ type: "start", request, retry: false });
    await p.settled(1);
    p.send({ type: "start", request, retry: true });
    await p.settled(2);
    expect(key(1)).toBe(key(0));

    // Regenerate: a new generation of the same prompt.
    p.send({ type: "start", request, retry: false });
    await p.settled(3);
    expect(key(2)).not.toBe(key(1));

    // A "retry" whose body changed is a different generation.
    p.send({ type: "start", request: { ...request, prompt: "Something else" }, retry: true });
    await p.settled(4);
    expect(key(3)).not.toBe(key(2));
  });

  it("keeps the key for a retry across a service worker restart", async () => {
    const first = await setup();
    const p = first.open();
    p.send({ type: "start", request, retry: false });
    await p.settled();
    const key = first.generateCalls()[0]?.headers.get("Idempotency-Key");

    // A new background (fresh memory), same extension storage.
    const second = await setup();
    const q = second.open();
    q.send({ type: "start", request, retry: true });
    await q.settled();
    expect(second.generateCalls()[0]?.headers.get("Idempotency-Key")).toBe(key);
  });

  it("reports a connection that drops before `done` as interrupted, nothing charged", async () => {
    const { worker, open } = await setup();
    worker.onGenerate(() =>
      sse([
        ["start", { generationId: "gen_1", held: 1 }],
        ["delta", { text: "Title: Fix" }],
      ]),
    );
    const p = open();
    p.send({ type: "start", request, retry: false });
    await p.settled();
    expect(p.received.at(-1)).toMatchObject({
      type: "error",
      charged: 0,
      error: { code: "stream_interrupted" },
    });
  });

  it("relays 402 with the shortage, 429 with its retry time, and an error event's charge", async () => {
    const { worker, open } = await setup();
    const responses = [
      new Response(
        JSON.stringify({
          error: {
            code: "insufficient_tokens",
            message: "Not enough tokens.",
            required: 2,
            available: 1,
            shortage: 1,
          },
        }),
        { status: 402, headers: { "Content-Type": "application/json" } },
      ),
      new Response(JSON.stringify({ error: { code: "rate_limited", message: "Slow down." } }), {
        status: 429,
        headers: { "Content-Type": "application/json", "Retry-After": "17" },
      }),
      sse([
        ["start", { generationId: "gen_2", held: 1 }],
        [
          "error",
          {
            code: "upstream_error",
            message: "The model failed.",
            charged: 0,
            tokens: { available: 3, held: 0 },
          },
        ],
      ]),
    ];
    worker.onGenerate(() => responses.shift() as Response);
    const p = open();
    for (let i = 1; i <= 3; i++) {
      p.send({ type: "start", request, retry: false });
      await p.settled(i);
    }
    const errors = p.received.filter((m) => m.type === "error");
    expect(errors[0]).toMatchObject({
      error: {
        status: 402,
        code: "insufficient_tokens",
        details: { required: 2, available: 1, shortage: 1 },
      },
    });
    expect(errors[1]).toMatchObject({ error: { status: 429, code: "rate_limited", retryAfter: 17 } });
    expect(errors[2]).toMatchObject({
      charged: 0,
      error: { code: "upstream_error", message: "The model failed." },
    });
  });

  it("a 402 brings the balance it reports to the panel and to every view's cached balance", async () => {
    const { worker, open } = await setup();
    expect((await accountItem.getValue())?.tokens.available).toBe(3);
    const refusal = (error: object) =>
      new Response(JSON.stringify({ error: { code: "insufficient_tokens", message: "No.", ...error } }), {
        status: 402,
        headers: { "Content-Type": "application/json" },
      });
    const responses = [
      // The Worker's shape: the wallet's `tokens` beside the shortage.
      refusal({ required: 2, available: 1, shortage: 1, tokens: { available: 1, held: 1 } }),
      // Only the contract's details: `available` is still the balance.
      refusal({ required: 2, available: 0, shortage: 2 }),
    ];
    worker.onGenerate(() => responses.shift() as Response);
    const p = open();

    p.send({ type: "start", request, retry: false });
    await p.settled(1);
    expect(p.received.at(-1)).toMatchObject({ type: "error", tokens: { available: 1, held: 1 } });
    expect((await accountItem.getValue())?.tokens).toMatchObject({ available: 1, held: 1 });

    p.send({ type: "start", request, retry: false });
    await p.settled(2);
    expect(p.received.at(-1)).toMatchObject({ type: "error", tokens: { available: 0 } });
    expect((await accountItem.getValue())?.tokens.available).toBe(0);
  });

  it("Stop aborts the request to the Worker", async () => {
    const { worker, open } = await setup();
    let signal: AbortSignal | undefined;
    worker.onGenerate((_call, s) => {
      signal = s;
      return sse(
        [
          ["start", { generationId: "gen_3", held: 1 }],
          ["delta", { text: "Title: " }],
        ],
        { keepOpen: true },
      );
    });
    const p = open();
    p.send({ type: "start", request, retry: false });
    for (let i = 0; i < 100 && !p.received.some((m) => m.type === "delta"); i++)
      await new Promise((r) => setTimeout(r, 5));
    p.send({ type: "stop" });
    await p.settled();
    expect(signal?.aborted).toBe(true);
    expect(p.received.at(-1)).toEqual({ type: "stopped" });
  });

  it("the panel going away aborts the request too", async () => {
    const { worker, open } = await setup();
    let signal: AbortSignal | undefined;
    worker.onGenerate((_call, s) => {
      signal = s;
      return sse([["start", { generationId: "gen_4", held: 1 }]], { keepOpen: true });
    });
    const p = open();
    p.send({ type: "start", request, retry: false });
    for (let i = 0; i < 100 && !signal; i++) await new Promise((r) => setTimeout(r, 5));
    p.close();
    expect(signal?.aborted).toBe(true);
  });

  it("a 401 on generate falls back to an anonymous session and sends the request again", async () => {
    const { worker, session, open, generateCalls } = await setup();
    const before = await session.current();
    worker.revoke(before?.accountId as string);
    const p = open();
    p.send({ type: "start", request, retry: false });
    await p.settled();
    expect(p.received.at(-1)?.type).toBe("done");
    const [first, second] = generateCalls();
    expect(first?.headers.get("Authorization")).toBe(`Bearer ${before?.token}`);
    expect(second?.headers.get("Authorization")).not.toBe(`Bearer ${before?.token}`);
    // Same generation, same key.
    expect(second?.headers.get("Idempotency-Key")).toBe(first?.headers.get("Idempotency-Key"));
  });
});
