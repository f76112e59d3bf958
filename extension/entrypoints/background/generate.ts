import {
  type Api,
  ApiError,
  type Balance,
  balanceFromError,
  errorFromResponse,
  type GenerateRequest,
  type Tokens,
} from "@/lib/api";
import type { BackgroundToPanel, PanelToBackground, PortLike } from "@/lib/messaging";
import type { SessionManager } from "@/lib/session";
import { updateCachedTokens } from "@/lib/session";
import { readSse } from "@/lib/sse";
import { lastGenerationItem } from "@/lib/storage";

export interface RelayDeps {
  session: SessionManager;
  getApi: () => Promise<Api>;
  newKey?: () => string;
}

/**
 * Serves one panel's generate port: each `start` streams POST /api/generate
 * back as port messages; `stop` or the panel going away aborts the fetch.
 */
export function serveGeneratePort(port: PortLike, deps: RelayDeps): void {
  let controller: AbortController | null = null;
  let open = true;
  const post = (message: BackgroundToPanel) => {
    if (!open) return;
    try {
      port.postMessage(message);
    } catch {
      open = false; // the tab navigated away mid-stream
    }
  };

  port.onMessage.addListener((message: PanelToBackground) => {
    if (message.type === "stop") {
      controller?.abort();
      return;
    }
    if (message.type === "start") {
      controller?.abort();
      const current = new AbortController();
      controller = current;
      void relayGeneration(message.request, message.retry, current.signal, deps, post).finally(() => {
        if (controller === current) controller = null;
      });
    }
  });
  port.onDisconnect.addListener(() => {
    open = false;
    controller?.abort();
  });
}

/**
 * A fresh Idempotency-Key per generation; a retry of the same generation
 * (same body) reuses the stored key, so the Worker answers the first result
 * instead of charging again (docs/api.md, "Generating a ticket").
 */
export async function idempotencyKeyFor(body: string, retry: boolean, newKey: () => string): Promise<string> {
  const last = await lastGenerationItem.getValue();
  if (retry && last && last.body === body) return last.key;
  const key = newKey();
  await lastGenerationItem.setValue({ key, body, createdAt: new Date().toISOString() });
  return key;
}

const INTERRUPTED = "stream_interrupted";

export async function relayGeneration(
  request: GenerateRequest,
  retry: boolean,
  signal: AbortSignal,
  deps: RelayDeps,
  post: (message: BackgroundToPanel) => void,
): Promise<void> {
  // A team's balance is not the user's: only a personal generation updates the cached balance.
  const cacheTokens = (tokens: Balance) =>
    request.wallet ? Promise.resolve() : updateCachedTokens(tokens).catch(() => {});
  /** Reports a failure with the balance it leaves, and keeps every view's cached balance in step. */
  const fail = async (error: ApiError, charged = 0, reported?: Balance) => {
    const info = error.toJSON();
    const tokens = reported ?? balanceFromError(info) ?? undefined;
    if (tokens) await cacheTokens(tokens);
    post({ type: "error", error: info, charged, ...(tokens ? { tokens } : {}) });
  };

  try {
    const key = await idempotencyKeyFor(
      JSON.stringify(request),
      retry,
      deps.newKey ?? (() => crypto.randomUUID()),
    );
    const api = await deps.getApi();
    const res = await deps.session.withToken(async (token) => {
      const res = await api.generate(token, request, key, signal);
      // Thrown so the session manager falls back to anonymous and retries once.
      if (res.status === 401) throw await errorFromResponse(res);
      return res;
    });
    if (!res.ok) return fail(await errorFromResponse(res));

    if (!res.headers.get("Content-Type")?.includes("text/event-stream") || !res.body) {
      // A JSON answer (e.g. a proxy that stripped the stream): same result, one message.
      const body = (await res.json()) as {
        generation: { id: string; title: string; description: string };
        charged: number;
        tokens: Tokens;
      };
      await cacheTokens(body.tokens);
      return post({
        type: "done",
        generationId: body.generation.id,
        title: body.generation.title,
        description: body.generation.description,
        charged: body.charged,
        tokens: body.tokens,
      });
    }

    for await (const event of readSse(res.body, signal)) {
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(event.data);
      } catch {
        continue; // not ours (a keep-alive or a proxy's note)
      }
      switch (event.event) {
        case "start":
          post({ type: "start", generationId: String(data.generationId), held: Number(data.held ?? 0) });
          break;
        case "delta":
          if (typeof data.text === "string" && data.text) post({ type: "delta", text: data.text });
          break;
        case "done": {
          const tokens = data.tokens as Tokens;
          if (tokens) await cacheTokens(tokens);
          post({
            type: "done",
            generationId: String(data.generationId),
            title: String(data.title ?? ""),
            description: String(data.description ?? ""),
            charged: Number(data.charged ?? 0),
            tokens,
          });
          return;
        }
        case "error": {
          const { code, message, charged, tokens, ...details } = data;
          return fail(
            new ApiError(
              502,
              String(code ?? "upstream_error"),
              String(message ?? "The ticket could not be generated."),
              details,
            ),
            Number(charged ?? 0),
            (tokens as Balance | undefined) ?? undefined,
          );
        }
      }
    }
    if (signal.aborted) return post({ type: "stopped" });
    // The body ended without `done` or `error`: the connection dropped.
    return fail(
      new ApiError(
        0,
        INTERRUPTED,
        "The connection dropped before the ticket was finished. Retry picks up the same generation without charging twice.",
      ),
    );
  } catch (err) {
    if (signal.aborted) return post({ type: "stopped" });
    if (err instanceof ApiError) return fail(err);
    if (err instanceof TypeError) {
      // A network failure while reading the stream.
      return fail(
        new ApiError(
          0,
          INTERRUPTED,
          "The connection dropped before the ticket was finished. Retry picks up the same generation without charging twice.",
        ),
      );
    }
    return fail(new ApiError(0, "extension_error", (err as Error)?.message || "The generation failed."));
  }
}
