import { createParser } from "eventsource-parser";

/** One server-sent event: its name and its `data:` lines joined. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Reads a `text/event-stream` body with eventsource-parser (WHATWG parsing:
 * CR, LF or CRLF line ends, multi-line data, comments, events split across
 * network chunks). Yields each complete event; a trailing partial event is
 * dropped, as a browser's EventSource does. Cancels the body when the
 * consumer stops early or `signal` aborts.
 */
export async function* readSse(
  body: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  // fetch errors its body on abort; this also covers bodies that are not tied to the request.
  const cancel = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", cancel, { once: true });
  const decoder = new TextDecoder();
  const ready: SseEvent[] = [];
  const parser = createParser({
    onEvent: ({ event, data }) => ready.push({ event: event || "message", data }),
  });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
      while (ready.length > 0) yield ready.shift() as SseEvent;
    }
  } finally {
    signal?.removeEventListener("abort", cancel);
    // Stops the download when the consumer leaves early (Stop, or an `error` event).
    reader.cancel().catch(() => {});
  }
}
