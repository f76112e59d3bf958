import { Hono } from "hono";
import { z } from "zod";
import { ISSUE_TYPES, SITES, type TicketRequest } from "../../ai/types";
import { FEATURES } from "../../billing/pricing";
import type { AppEnv } from "../../env";
import { ApiError } from "../../lib/errors";
import { sha256Hex } from "../../lib/ids";
import { isLoopbackHost } from "../../lib/loopback";
import { requireActive, requireSessionClaim } from "../../lib/session";
import { idempotencyKeyHeader, validate } from "../../lib/validation";
import { admit } from "./admit";
import { INPUT_LIMITS } from "./config";
import { replay } from "./replay";
import { execute, type RunOutcome } from "./run";
import { background, type Send, serverTiming, sseBody } from "./sse";

export { CHARGE_UNCONFIRMED } from "./charge";
export {
  GENERATE_LIMITS,
  HOLD_TTL_MS,
  INPUT_LIMITS,
  MAX_GENERATE_BODY_BYTES,
  MAX_OUTPUT_CHARS,
} from "./config";

const contextField = z.string().nullish();
const generateBody = z.object({
  site: z.enum(SITES),
  feature: z.enum(FEATURES).default("generate"),
  issueType: z.enum(ISSUE_TYPES).default("auto"),
  prompt: z.string().trim().min(1, "Describe the ticket in a few words."),
  /** Who pays: absent or null for the caller's own wallet, else a team they belong to. */
  wallet: z.string().max(64).nullish(),
  context: z
    .object({
      title: contextField,
      description: contextField,
      project: contextField,
      url: contextField,
      /** The form's own description template (Markdown), filled section by section. */
      template: contextField,
    })
    .nullish(),
});
type GenerateBody = z.infer<typeof generateBody>;

/** POST /api/generate: admit (hold + checks), run the model, charge, answer as SSE or JSON. */
export const generate = new Hono<AppEnv>().post(
  "/generate",
  // A signed token is read with no D1 read; the account's wallet answers
  // whether its session may still spend (admit.ts, docs/decisions/017).
  requireSessionClaim,
  requireActive,
  validate("header", idempotencyKeyHeader),
  validate("json", generateBody),
  async (c) => {
    // The mock model is a development convenience: off loopback, a missing
    // key means no model, refused before any hold (docs/decisions/011).
    if (!c.env.OPENROUTER_API_KEY && !isLoopbackHost(c.req.url)) {
      throw new ApiError(
        503,
        "unavailable",
        "No AI model is configured on this server. Nothing was charged.",
      );
    }
    const body = c.req.valid("json");
    const input = ticketRequest(body);
    const key = c.req.valid("header")["idempotency-key"];
    const sse = (c.req.header("Accept") ?? "").includes("text/event-stream");
    const timing = serverTiming();
    const teamId = body.wallet ?? null;
    // The paying wallet is part of the request: the same key for another wallet is a conflict.
    const requestHash = await sha256Hex(JSON.stringify(teamId ? { ...input, wallet: teamId } : input));

    const admission = await admit(c, input, key, requestHash, teamId);
    timing.mark("checks");
    if (admission.kind === "replay") return replay(c, admission.record, requestHash, sse);
    const { job, tokens } = admission;
    const { generationId, held } = job;
    c.header("X-Tokens-Remaining", String(tokens.available));

    if (sse) {
      const { body, done } = sseBody(async (send, signal, close) => {
        send("start", { generationId, held });
        const { outcome, recorded } = await execute(job, signal, (text) => send("delta", { text }));
        finalEvent(send, generationId, outcome);
        close();
        await recorded;
      });
      background(c, done);
      return new Response(body, {
        headers: {
          "Content-Type": "text/event-stream; charset=utf-8",
          "Cache-Control": "no-cache, no-transform",
          "X-Accel-Buffering": "no",
          "X-Tokens-Remaining": String(tokens.available),
          "Server-Timing": timing.header(),
        },
      });
    }

    // JSON: nothing reaches the client before the end, so the work finishes
    // even if it leaves; the result is then kept for a replay with the same key.
    const run = execute(job, new AbortController().signal, () => true);
    background(
      c,
      run.then((r) => r.recorded),
    );
    const { outcome } = await run;
    c.header("X-Tokens-Remaining", String(outcome.tokens.available));
    if (outcome.status === "failed") {
      throw new ApiError(502, "upstream_error", outcome.error.message, {
        charged: 0,
        tokens: outcome.tokens,
      });
    }
    return c.json({
      generation: { id: generationId, title: outcome.title, description: outcome.description },
      charged: outcome.charged,
      tokens: outcome.tokens,
    });
  },
);

const CONTEXT_FIELDS = ["title", "description", "project", "url", "template"] as const;

function ticketRequest(body: GenerateBody): TicketRequest {
  const ctx = body.context ?? {};
  const context = Object.fromEntries(
    CONTEXT_FIELDS.map((k) => [k, ctx[k]?.trim() ?? ""] as const).filter(([, v]) => v !== ""),
  );
  const request: TicketRequest = {
    site: body.site,
    feature: body.feature,
    issueType: body.issueType,
    prompt: body.prompt,
    ...(Object.keys(context).length > 0 ? { context } : {}),
  };
  const tooLong = [
    ["prompt", request.prompt.length, INPUT_LIMITS.prompt],
    ...CONTEXT_FIELDS.map((k) => [`context.${k}`, context[k]?.length ?? 0, INPUT_LIMITS[k]] as const),
  ].find(([, length, max]) => length > max);
  if (tooLong) {
    const [field, , max] = tooLong;
    throw new ApiError(413, "payload_too_large", `The ${field} is longer than ${max} characters.`, {
      field,
      max,
    });
  }
  return request;
}

function finalEvent(send: Send, generationId: string, outcome: RunOutcome) {
  if (outcome.status === "failed") {
    send("error", { ...outcome.error, charged: 0, tokens: outcome.tokens });
  } else {
    send("done", {
      generationId,
      title: outcome.title,
      description: outcome.description,
      charged: outcome.charged,
      tokens: outcome.tokens,
    });
  }
}
