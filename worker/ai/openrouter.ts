import { createParser } from "eventsource-parser";
import { log } from "../lib/log";
import type { ChatMessage, Usage } from "./types";

export const DEFAULT_BASE_URL = "https://openrouter.ai/api/v1";
export const DEFAULT_MODEL = "openai/gpt-oss-20b";
/** No byte from upstream (not even a keep-alive comment) for this long: give up. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;
/** A whole generation, fallbacks included, never takes longer than this. */
export const DEFAULT_TOTAL_TIMEOUT_MS = 120_000;

/** Identifies MyBA to OpenRouter (its app attribution headers). */
export const APP_URL = "https://myba.app";
export const APP_TITLE = "MyBA";

export type StreamEvent =
  /** The upstream accepted the request for this model; deltas follow. */
  | { type: "model"; model: string }
  /** OpenRouter's id of this generation (its `X-Generation-Id` header, else the chunks' `id`). */
  | { type: "upstream_id"; id: string }
  | { type: "delta"; text: string }
  | { type: "usage"; usage: Usage }
  /** The model stopped at `max_tokens`. */
  | { type: "truncated" };

export type UpstreamErrorKind =
  /** HTTP error before the stream (429, 5xx, 402…). */
  | "http"
  /** An error object inside the stream, or `finish_reason: "error"`. */
  | "stream_error"
  /** The body ended without `data: [DONE]`. */
  | "stream_cut"
  /** No byte within the stall timeout, or past the total timeout. */
  | "timeout"
  | "network"
  | "bad_response"
  /** Our caller went away (the client disconnected). */
  | "aborted";

export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "UpstreamError";
  }

  /** Worth trying the next model: not our own configuration or account being refused. */
  get retryable(): boolean {
    if (this.kind === "aborted") return false;
    if (this.kind === "http") return ![401, 402, 403].includes(this.status ?? 0);
    return true;
  }
}

export type DataCollection = "allow" | "deny";

export interface ChatOptions {
  baseUrl: string;
  apiKey: string;
  /** The main model first, then the fallbacks. */
  models: string[];
  messages: ChatMessage[];
  maxTokens: number;
  temperature?: number;
  /**
   * OpenRouter's `user`: a stable pseudonym of the paying wallet (never an
   * email), so abuse is isolated to that user.
   */
  user?: string;
  /**
   * Provider preference: "deny" (default) routes only to providers that
   * neither store nor train on prompts.
   */
  dataCollection?: DataCollection;
  /** Aborts the upstream request (the client went away). */
  signal?: AbortSignal;
  stallTimeoutMs?: number;
  totalTimeoutMs?: number;
  /** The transport: `fetch`, or the mock provider's stand-in. */
  fetch?: typeof fetch;
}

/**
 * Streams a chat completion from OpenRouter (`POST {base}/chat/completions`,
 * `stream: true`). Speaks OpenRouter's SSE as documented: `: OPENROUTER
 * PROCESSING` keep-alive comments, `data: {chunk}` lines, a last chunk with
 * `usage`, `data: [DONE]`, and errors either as an HTTP status before the
 * stream or as a data chunk carrying `error` once it has begun.
 *
 * A model that fails before its first delta is replaced by the next one in
 * `models`; once text has been yielded, a failure is final (the client has
 * seen that text).
 */
export async function* streamChat(o: ChatOptions): AsyncGenerator<StreamEvent, void, undefined> {
  const deadline = Date.now() + (o.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS);
  let last: UpstreamError | undefined;
  for (const [i, model] of o.models.entries()) {
    let delivered = false;
    try {
      for await (const event of streamModel(o, model, deadline)) {
        if (event.type === "delta") delivered = true;
        yield event;
      }
      return;
    } catch (error) {
      const e = toUpstreamError(error);
      if (delivered || !e.retryable || Date.now() >= deadline) throw e;
      last = e;
      const next = o.models[i + 1];
      if (next)
        log("warn", "openrouter.fallback", { model, next, kind: e.kind, status: e.status, error: e.message });
    }
  }
  throw last ?? new UpstreamError("bad_response", "No model is configured.");
}

async function* streamModel(
  o: ChatOptions,
  model: string,
  deadline: number,
): AsyncGenerator<StreamEvent, void, undefined> {
  const controller = new AbortController();
  const fail = (e: UpstreamError) => controller.abort(e);
  const onCallerAbort = () => fail(new UpstreamError("aborted", "The request was cancelled."));
  if (o.signal?.aborted) onCallerAbort();
  o.signal?.addEventListener("abort", onCallerAbort);
  const stallMs = o.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  // One timer per stall period, not one per chunk: each byte only notes the
  // time, and the timer re-arms itself for what is left of the period (timers
  // cost the runtime more than the chunk's parsing; docs/decisions/020).
  let lastByte = Date.now();
  let stallTimer: ReturnType<typeof setTimeout> | undefined;
  const watch = (ms: number) => {
    stallTimer = setTimeout(() => {
      const quiet = Date.now() - lastByte;
      if (quiet >= stallMs) fail(new UpstreamError("timeout", `The model sent nothing for ${stallMs} ms.`));
      else watch(stallMs - quiet);
    }, ms);
  };
  const alive = () => {
    lastByte = Date.now();
    if (stallTimer === undefined) watch(stallMs);
  };
  const totalTimer = setTimeout(
    () => fail(new UpstreamError("timeout", "The model took too long.")),
    Math.max(0, deadline - Date.now()),
  );
  // Every await below races this, so a stall or a cancel ends the wait at once.
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
  });
  aborted.catch(() => {});
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    alive();
    const request = (o.fetch ?? fetch)(`${o.baseUrl.replace(/\/+$/, "")}/chat/completions`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${o.apiKey}`,
        "Content-Type": "application/json",
        Accept: "text/event-stream",
        "HTTP-Referer": APP_URL,
        "X-Title": APP_TITLE,
      },
      body: JSON.stringify({
        model,
        messages: o.messages,
        stream: true,
        max_tokens: o.maxTokens,
        temperature: o.temperature ?? 0.3,
        // OpenRouter's usage accounting; `stream_options` for OpenAI-compatible hops.
        usage: { include: true },
        stream_options: { include_usage: true },
        ...(o.user ? { user: o.user } : {}),
        provider: { data_collection: o.dataCollection ?? "deny" },
      }),
      signal: controller.signal,
    }).catch((error: unknown) => {
      throw controller.signal.aborted
        ? controller.signal.reason
        : new UpstreamError("network", `Could not reach the model: ${String(error)}`);
    });
    const res = await Promise.race([settledLater(request), aborted]);
    if (!res.ok) {
      const text = await Promise.race([settledLater(res.text()), aborted]).catch(() => "");
      throw new UpstreamError("http", `The model answered ${res.status}: ${errorMessage(text)}`, res.status);
    }
    if (!res.body) throw new UpstreamError("bad_response", "The model's answer had no body.");
    yield { type: "model", model };
    let upstreamId = res.headers.get("X-Generation-Id");
    if (upstreamId) yield { type: "upstream_id", id: upstreamId };

    reader = res.body.getReader();
    const decoder = new TextDecoder();
    // Comments (": OPENROUTER PROCESSING") only prove life, which any byte does.
    const payloads: string[] = [];
    const parser = createParser({ onEvent: (event) => payloads.push(event.data) });
    for (let ended = false; !ended; ) {
      const { done, value } = await Promise.race([settledLater(reader.read()), aborted]);
      if (done) {
        // The body ended. A final event without its blank line still counts.
        parser.feed(`${decoder.decode()}\n\n`);
        ended = true;
      } else {
        alive();
        parser.feed(decoder.decode(value, { stream: true }));
      }
      for (const payload of payloads.splice(0)) {
        if (payload === "[DONE]") return;
        const chunk = parseChunk(payload);
        if (!upstreamId && typeof chunk.id === "string" && chunk.id) {
          upstreamId = chunk.id;
          yield { type: "upstream_id", id: upstreamId };
        }
        yield* chunkEvents(chunk);
      }
    }
    throw new UpstreamError("stream_cut", "The model's stream ended before it was complete.");
  } finally {
    clearTimeout(stallTimer);
    clearTimeout(totalTimer);
    o.signal?.removeEventListener("abort", onCallerAbort);
    if (!controller.signal.aborted) controller.abort(new UpstreamError("aborted", "Done."));
    reader?.cancel().catch(() => {});
  }
}

interface Chunk {
  id?: string;
  error?: { code?: number | string; message?: string };
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; cost?: number };
}

function parseChunk(payload: string): Chunk {
  try {
    return JSON.parse(payload) as Chunk;
  } catch {
    throw new UpstreamError("bad_response", "The model sent a chunk that is not JSON.");
  }
}

function* chunkEvents(chunk: Chunk): Generator<StreamEvent> {
  if (chunk.error) {
    throw new UpstreamError(
      "stream_error",
      `The model failed mid-stream: ${chunk.error.message ?? chunk.error.code ?? "unknown error"}`,
    );
  }
  const choice = chunk.choices?.[0];
  const text = choice?.delta?.content;
  if (typeof text === "string" && text.length > 0) yield { type: "delta", text };
  if (choice?.finish_reason === "error")
    throw new UpstreamError("stream_error", "The model failed mid-stream.");
  if (choice?.finish_reason === "length") yield { type: "truncated" };
  if (chunk.usage) {
    yield {
      type: "usage",
      usage: {
        inputTokens: chunk.usage.prompt_tokens ?? 0,
        outputTokens: chunk.usage.completion_tokens ?? 0,
        ...(typeof chunk.usage.cost === "number" ? { costUsd: chunk.usage.cost } : {}),
      },
    };
  }
}

/**
 * A promise raced against an abort may lose and reject later (the aborted
 * read fails): mark that rejection handled so it is not reported as uncaught.
 */
function settledLater<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

function toUpstreamError(error: unknown): UpstreamError {
  if (error instanceof UpstreamError) return error;
  return new UpstreamError("network", error instanceof Error ? error.message : String(error));
}

/** OpenRouter's error body is `{"error": {"code", "message"}}`; anything else is shown trimmed. */
function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // not JSON
  }
  return text.slice(0, 200) || "no details";
}
