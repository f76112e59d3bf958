import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A fake OpenRouter on loopback speaking its real wire format
 * (`POST /api/v1/chat/completions`, SSE with `: OPENROUTER PROCESSING`
 * comments, chunks, a usage chunk and `data: [DONE]`).
 *
 * The requested model picks the scenario, so a test chooses one through
 * `OPENROUTER_MODEL` / `OPENROUTER_FALLBACK_MODELS`:
 *   fake/ok[:tokens=N]  a ticket, then usage (completion_tokens N, default 120)
 *   fake/chatter        the ticket wrapped in a greeting, a code fence and a sign-off
 *   fake/429, fake/500, fake/402   that HTTP error before any stream
 *   fake/error-first    200, then an error chunk before any text
 *   fake/error-mid      two deltas, then an error chunk
 *   fake/cut            two deltas, then the connection ends without [DONE]
 *   fake/stall          one delta, then silence until the client gives up
 *   fake/slow           one delta every 40 ms, 100 of them
 *   fake/late           like ok, after 400 ms of keep-alive comments
 *   fake/long           far more text than the Worker accepts
 *   fake/fenced         the ticket with a code fence opening every line
 *   fake/preamble       "Sure, here it is:" then the ticket without a Title: label
 *   fake/notitle        the ticket's lines without the Title: label
 *   fake/blank          only whitespace, then a normal end
 *
 * Each request is logged under its bearer token; tests use a fresh API key
 * and read `GET /__log?key=<key>` (model, headers, body, whether the client
 * hung up before the end).
 */

export const FAKE_TICKET =
  "Title: Fix the login redirect loop on Safari\n\n" +
  "## Steps to reproduce\n\n1. Open the login page in Safari 17\n2. Sign in with valid credentials\n\n" +
  "## Expected result\n\nThe dashboard opens.\n\n" +
  "## Actual result\n\nThe login page reloads forever.\n\n" +
  "## Acceptance criteria\n\n- Signing in on Safari opens the dashboard\n- A regression test covers the redirect\n";

const UNLABELLED = FAKE_TICKET.replace(/^Title: /, "");

/** Answers a model gives against the prompt's format (fences, chatter, no label, nothing). */
const ODD_ANSWERS: Record<string, string> = {
  fenced: FAKE_TICKET.split("\n")
    .map((l) => `\`\`\`${l}`)
    .join("\n"),
  preamble: `Sure, here it is:\n\n${UNLABELLED}`,
  notitle: UNLABELLED,
  blank: " \n\n  \n",
};

interface LogEntry {
  model: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  /** The client closed the connection before the fake finished. */
  aborted: boolean;
  finished: boolean;
}

const log = new Map<string, LogEntry[]>();

export async function start() {
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? "/", "http://fake");
  if (req.method === "GET" && url.pathname === "/__log") {
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify(log.get(url.searchParams.get("key") ?? "") ?? []));
    return;
  }
  if (req.method !== "POST" || url.pathname !== "/api/v1/chat/completions") {
    res.statusCode = 404;
    res.end(JSON.stringify({ error: { code: 404, message: "Not found" } }));
    return;
  }
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
  const key = (req.headers.authorization ?? "").replace(/^Bearer /, "");
  const model = String(body.model ?? "");
  const entry: LogEntry = { model, headers: req.headers, body, aborted: false, finished: false };
  log.set(key, [...(log.get(key) ?? []), entry]);
  res.on("close", () => {
    if (!res.writableFinished) entry.aborted = true;
  });

  const [scenario = "", option = ""] = model.replace(/^fake\//, "").split(":");
  const fail = (status: number, message: string) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: { code: status, message } }));
    entry.finished = true;
  };
  if (scenario === "429") return fail(429, "Rate limit exceeded: too many requests");
  if (scenario === "500") return fail(500, "Internal Server Error");
  if (scenario === "402") return fail(402, "Insufficient credits");

  const id = `gen-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
  // OpenRouter names the generation in a header too (and in every chunk's `id`).
  res.writeHead(200, {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Generation-Id": id,
  });
  const send = (chunk: object) =>
    res.write(
      `data: ${JSON.stringify({ id, provider: "Fake", model, object: "chat.completion.chunk", created: 1, ...chunk })}\n\n`,
    );
  const delta = (content: string) =>
    send({
      choices: [
        { index: 0, delta: { role: "assistant", content }, finish_reason: null, native_finish_reason: null },
      ],
    });
  const errorChunk = () =>
    send({
      error: { code: "server_error", message: "Provider disconnected unexpectedly" },
      choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }],
    });
  const finish = (outputTokens: number) => {
    send({
      choices: [
        {
          index: 0,
          delta: { role: "assistant", content: "" },
          finish_reason: "stop",
          native_finish_reason: "stop",
        },
      ],
    });
    send({
      choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
      usage: {
        prompt_tokens: 412,
        completion_tokens: outputTokens,
        total_tokens: 412 + outputTokens,
        cost: 0.00021,
      },
    });
    res.write("data: [DONE]\n\n");
    res.end();
    entry.finished = true;
  };

  res.write(": OPENROUTER PROCESSING\n\n");
  const odd = ODD_ANSWERS[scenario];
  if (odd !== undefined) {
    for (const piece of odd.match(/[\s\S]{1,24}/g) ?? []) delta(piece);
    return finish(Number(/tokens=(\d+)/.exec(option)?.[1] ?? 120));
  }
  switch (scenario) {
    case "ok":
    case "chatter": {
      const text =
        scenario === "chatter"
          ? `Sure! Here is the ticket you asked for:\n\n\`\`\`markdown\n**Title:** Fix the login redirect loop on Safari\n\n${FAKE_TICKET.split("\n\n").slice(1).join("\n\n")}\`\`\`\n\nLet me know if you'd like any changes!`
          : FAKE_TICKET;
      // A comment between chunks, as OpenRouter sends while a provider warms up.
      res.write(": OPENROUTER PROCESSING\n\n");
      for (const piece of text.match(/[\s\S]{1,24}/g) ?? []) delta(piece);
      return finish(Number(/tokens=(\d+)/.exec(option)?.[1] ?? 120));
    }
    case "late": {
      for (let i = 0; i < 8 && !res.destroyed; i++) {
        await new Promise((r) => setTimeout(r, 50));
        res.write(": OPENROUTER PROCESSING\n\n");
      }
      if (res.destroyed) return;
      for (const piece of FAKE_TICKET.match(/[\s\S]{1,24}/g) ?? []) delta(piece);
      return finish(120);
    }
    case "error-first":
      errorChunk();
      res.end();
      entry.finished = true;
      return;
    case "error-mid":
      delta("Title: Fix the login ");
      delta("redirect loop\n\n## Steps");
      errorChunk();
      res.end();
      entry.finished = true;
      return;
    case "cut":
      delta("Title: Fix the login ");
      delta("redirect loop\n\n## Steps");
      res.end();
      entry.finished = true;
      return;
    case "stall":
      delta("Title: Fix the login ");
      return; // never another byte: the Worker's stall timeout must fire
    case "slow": {
      for (let i = 0; i < 100 && !res.destroyed; i++) {
        delta(i === 0 ? "Title: A slow ticket\n\n" : `Line ${i} of a long description.\n`);
        await new Promise((r) => setTimeout(r, 40));
      }
      if (!res.destroyed) finish(600);
      return;
    }
    case "long": {
      for (let i = 0; i < 2000 && !res.destroyed; i++) {
        delta(i === 0 ? "Title: Long\n\n" : "word ".repeat(4));
        // Pause now and then so the Worker's early hang-up is seen before the end.
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      if (!res.destroyed) finish(9000);
      return;
    }
    default:
      errorChunk();
      res.end();
  }
}
