import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { log } from "../../lib/log";

export type Send = (event: "start" | "delta" | "done" | "error", data: object) => boolean;

/**
 * An SSE body whose `run` outlives the handler. Cancelling the body (the
 * client disconnected) aborts `signal`, which stops the upstream request;
 * `send` then returns false. A delta counts as delivered once it is handed to
 * the response stream.
 *
 * Written by hand: four event names with one JSON line each need no library,
 * and the enqueue is where "delivered" is decided, which a writer would hide.
 */
export function sseBody(run: (send: Send, signal: AbortSignal, close: () => void) => Promise<void>) {
  const encoder = new TextEncoder();
  const abort = new AbortController();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      open = false;
      abort.abort();
    },
  });
  const send: Send = (event, data) => {
    if (!open) return false;
    try {
      controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      return true;
    } catch {
      open = false;
      abort.abort();
      return false;
    }
  };
  const close = () => {
    if (open) {
      open = false;
      controller.close();
    }
  };
  const done = run(send, abort.signal, close)
    .catch((error: unknown) => {
      log("error", "generate.stream_failed", { error: String(error) });
      send("error", { code: "internal_error", message: "Something went wrong on our side.", charged: 0 });
    })
    .finally(close);
  return { body, done };
}

/** Where the time before the first upstream byte goes, as a `Server-Timing` header. */
export function serverTiming() {
  let last = performance.now();
  const marks: string[] = [];
  return {
    mark(name: string) {
      const now = performance.now();
      marks.push(`${name};dur=${(now - last).toFixed(1)}`);
      last = now;
    },
    header: () => marks.join(", "),
  };
}

/** Keeps the work alive after the response is returned (settling must not be cut short). */
export function background(c: Context<AppEnv>, work: Promise<unknown>) {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    // No execution context (a direct app.request without one): the promise still runs.
  }
}
