import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { ApiError } from "../../lib/errors";
import { wallet } from "../../wallet/client";
import type { GenerationRecord } from "../../wallet/records";
import { HOLD_TTL_MS } from "./config";
import { sseBody } from "./sse";

/**
 * A request with a key seen before, answered from its record in the
 * account's object: the first result, a conflict, or "still running".
 */
export async function replay(c: Context<AppEnv>, row: GenerationRecord, requestHash: string, sse: boolean) {
  if (row.requestHash !== requestHash) {
    throw new ApiError(409, "idempotency_conflict", "This Idempotency-Key was used with another request.");
  }
  if (row.status === "pending") {
    if (Date.now() - row.createdAt < HOLD_TTL_MS) {
      throw new ApiError(409, "request_in_progress", "A request with this Idempotency-Key is still running.");
    }
    throw new ApiError(502, "upstream_error", "The first attempt with this Idempotency-Key did not finish.");
  }
  const tokens = await wallet(c.env, row.walletId ?? row.accountId).balance();
  c.header("X-Tokens-Remaining", String(tokens.available));
  const failed = row.status === "failed";
  const message = "The first attempt with this Idempotency-Key failed. Nothing was charged.";
  if (!sse) {
    if (failed) throw new ApiError(502, "upstream_error", message, { charged: 0, tokens, replayed: true });
    return c.json({
      generation: { id: row.id, title: row.title ?? "", description: row.description ?? "" },
      charged: row.charged,
      tokens,
      replayed: true,
      ...(row.status === "cancelled" ? { status: row.status } : {}),
    });
  }
  const { body, done } = sseBody(async (send) => {
    send("start", { generationId: row.id, held: 0, replayed: true });
    if (failed) {
      send("error", { code: "upstream_error", message, charged: 0, tokens, replayed: true });
      return;
    }
    if (row.output) send("delta", { text: row.output });
    send("done", {
      generationId: row.id,
      title: row.title ?? "",
      description: row.description ?? "",
      charged: row.charged,
      tokens,
      replayed: true,
    });
  });
  await done;
  return new Response(body, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache",
      "X-Tokens-Remaining": String(tokens.available),
    },
  });
}
