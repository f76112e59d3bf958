// The fake OpenRouter the benches stream from, in the bench's own process.
//
// It waits a fixed delay before its first chunk, then streams a ticket in
// CHUNKS pieces. The chunks are serialized once at start: the fake's own CPU
// is spent on the same two cores as the Worker under test, so every
// millisecond it spends per stream is taken from what we measure.
import { createServer } from "node:http";

export const FIRST_CHUNK_DELAY_MS = 200;
export const CHUNKS = 20;
export const CHUNK_GAP_MS = 5;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const frame = (body) =>
  `data: ${JSON.stringify({ id: "gen-bench", object: "chat.completion.chunk", model: "bench/model", ...body })}\n\n`;
const TEXT = Array.from({ length: CHUNKS }, (_, i) =>
  frame({
    choices: [
      {
        index: 0,
        delta: {
          role: "assistant",
          content: i === 0 ? "Title: Benchmark ticket\n\n" : `Line ${i} of the description.\n`,
        },
        finish_reason: null,
      },
    ],
  }),
);
const END =
  frame({ choices: [{ index: 0, delta: { content: "" }, finish_reason: "stop" }] }) +
  frame({ choices: [], usage: { prompt_tokens: 300, completion_tokens: 150, total_tokens: 450 } }) +
  "data: [DONE]\n\n";

/** Starts the fake on a free loopback port; resolves to the server. */
export function startFake() {
  const server = createServer(async (req, res) => {
    for await (const _ of req); // drain the request body
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    res.write(": OPENROUTER PROCESSING\n\n");
    await sleep(FIRST_CHUNK_DELAY_MS);
    for (const chunk of TEXT) {
      res.write(chunk);
      await sleep(CHUNK_GAP_MS);
    }
    res.end(END);
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
