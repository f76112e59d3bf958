import { and, eq } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { streamChat, UpstreamError } from "../ai/openrouter";
import { parseTicket } from "../ai/parse";
import { buildMessages, MAX_OUTPUT_TOKENS } from "../ai/prompts";
import { providerFor } from "../ai/provider";
import { ISSUE_TYPES, SITES, type TicketRequest, type Usage } from "../ai/types";
import {
  allowedFor,
  costFor,
  FEATURES,
  type FeaturePrice,
  lastSeenPricing,
  maxCost,
  pricingFrom,
  pricingQuery,
  rememberPricing,
} from "../billing/pricing";
import { type Db, db } from "../db/client";
import { accounts, generations } from "../db/schema";
import type { AppEnv, Env } from "../env";
import { ApiError } from "../lib/errors";
import { newId, sha256Hex } from "../lib/ids";
import { log } from "../lib/log";
import { clientIp, type Limit, rateLimited, rateLimitQueries, rateLimitVerdict } from "../lib/rate-limit";
import { requireActive, requireSession } from "../lib/session";
import { validate } from "../lib/validation";
import { wallet } from "../wallet/client";
import type { Tokens } from "../wallet/types";

/** Size limits beyond which a request is refused with 413 (API.md: prompt 1..4000 chars). */
export const INPUT_LIMITS = { prompt: 4000, title: 1000, description: 20_000, project: 200, url: 2048 };
/** Output past this many characters is cut off and the upstream request stopped. */
export const MAX_OUTPUT_CHARS = 16_000;
/** A hold outlives the longest generation; the wallet's alarm voids it if we crash. */
export const HOLD_TTL_MS = 5 * 60_000;
/** Per account and per client IP (several people may share one address). */
export const GENERATE_LIMITS = {
  account: { limit: 20, periodMs: 60_000 },
  ip: { limit: 60, periodMs: 60_000 },
};
/** Rough output tokens per character, used only when the model reported no usage. */
const CHARS_PER_TOKEN = 4;

const contextField = z.string().nullish();
const generateBody = z.object({
  site: z.enum(SITES),
  feature: z.enum(FEATURES).default("generate"),
  issueType: z.enum(ISSUE_TYPES).default("auto"),
  prompt: z.string().trim().min(1, "Describe the ticket in a few words."),
  context: z
    .object({ title: contextField, description: contextField, project: contextField, url: contextField })
    .nullish(),
});
type GenerateBody = z.infer<typeof generateBody>;

const keyHeader = z.object({
  "idempotency-key": z
    .string({ error: "The Idempotency-Key header is required." })
    .min(8, "The Idempotency-Key must be 8 to 128 characters.")
    .max(128, "The Idempotency-Key must be 8 to 128 characters.")
    .regex(/^[\x21-\x7e]+$/, "The Idempotency-Key must be printable ASCII without spaces."),
});

type GenerationRow = typeof generations.$inferSelect;

export const generate = new Hono<AppEnv>().post(
  "/generate",
  requireSession,
  requireActive,
  validate("header", keyHeader),
  validate("json", generateBody),
  async (c) => {
    const input = ticketRequest(c.req.valid("json"));
    const key = c.req.valid("header")["idempotency-key"];
    const { accountId } = c.var.session;
    const d = db(c.env.DB);
    const sse = (c.req.header("Accept") ?? "").includes("text/event-stream");
    const timing = serverTiming();
    const requestHash = await sha256Hex(JSON.stringify(input));
    const generationId = newId("gen");
    const started = Date.now();
    // The hold is taken at the price this isolate saw last; the batch below
    // reads the current one, and a changed price is held again (see below).
    const guessedHeld = maxCost(lastSeenPricing()[input.feature]);
    const w = wallet(c.env, accountId);

    // Fast path to the first token: the hold is taken while one D1 batch runs
    // every check, and released if a check refuses. The batch's insert of the
    // pending row is the idempotency lock: the unique (account, key) index lets
    // exactly one of several concurrent duplicates through.
    const holding = w
      .reserve({
        key: `generation:${generationId}`,
        amount: guessedHeld,
        ttlMs: HOLD_TTL_MS,
        reference: generationId,
      })
      .then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
    const limits = limitsFor(accountId, clientIp(c));
    const checks = await d
      .batch([
        d
          .insert(generations)
          .values({
            id: generationId,
            accountId,
            sessionId: c.var.session.id,
            idempotencyKey: key,
            requestHash,
            site: input.site,
            feature: input.feature,
            issueType: input.issueType,
            prompt: input.prompt,
            context: input.context ?? null,
            status: "pending",
            held: guessedHeld,
            createdAt: new Date(started),
          })
          .onConflictDoNothing()
          .returning({ id: generations.id }),
        d
          .select()
          .from(generations)
          .where(and(eq(generations.accountId, accountId), eq(generations.idempotencyKey, key)))
          .limit(1),
        d.select({ plan: accounts.plan }).from(accounts).where(eq(accounts.id, accountId)),
        pricingQuery(d),
        ...rateLimitQueries(d, limits, started),
      ])
      .catch(async (error: unknown) => {
        const h = await holding;
        if ("result" in h && h.result.ok) await w.void(h.result.holdId);
        throw error;
      });
    const [inserted, [prior], [account], priceRows, ...limitResults] = checks;
    const price = rememberPricing(pricingFrom(priceRows))[input.feature];
    const held = maxCost(price);
    const reserved = await holding;
    timing.mark("checks");
    const release = async () => {
      if ("result" in reserved && reserved.result.ok) await w.void(reserved.result.holdId);
    };
    const dropRow = () => d.delete(generations).where(eq(generations.id, generationId));

    if (inserted.length === 0) {
      await release();
      if (!prior) throw new Error("idempotency key conflict without a row");
      return replay(c, prior, requestHash, sse);
    }
    const limited = rateLimitVerdict(limitResults, limits, started);
    const refusal = !limited.ok
      ? rateLimited(limited.retryAfterMs, "Too many generations.")
      : !allowedFor(price, account?.plan)
        ? new ApiError(403, "feature_not_in_plan", `Your plan does not include ${input.feature}.`, {
            feature: input.feature,
            plans: price.plans,
          })
        : null;
    if (refusal) {
      await Promise.all([release(), dropRow()]);
      throw refusal;
    }
    if ("error" in reserved) {
      await dropRow();
      throw reserved.error;
    }
    let hold = reserved.result;
    if (held !== guessedHeld) {
      // The price changed since this isolate last looked: hold the current
      // maximum instead (one more wallet round trip, only after a change).
      try {
        if (hold.ok) await w.void(hold.holdId);
        hold = await w.reserve({
          key: `generation:${generationId}:${held}`,
          amount: held,
          ttlMs: HOLD_TTL_MS,
          reference: generationId,
        });
      } catch (error) {
        await dropRow();
        throw error;
      }
    }
    if (!hold.ok) {
      // Nothing happened: free the key so the same request can be retried after a top-up.
      await dropRow();
      if (hold.code === "insufficient_tokens") {
        const available = hold.available ?? hold.tokens.available;
        throw new ApiError(
          402,
          "insufficient_tokens",
          `This needs ${held} token${held === 1 ? "" : "s"}; you have ${available}.`,
          { required: held, available, shortage: Math.max(0, held - available), tokens: hold.tokens },
          { "X-Tokens-Remaining": String(hold.tokens.available) },
        );
      }
      throw new ApiError(503, "unavailable", "The wallet could not hold the tokens. Nothing was charged.");
    }
    c.header("X-Tokens-Remaining", String(hold.tokens.available));

    const job: Job = {
      env: c.env,
      d,
      accountId,
      generationId,
      holdId: hold.holdId,
      held,
      input,
      price,
      started,
      requestId: c.var.requestId,
    };

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
          "X-Tokens-Remaining": String(hold.tokens.available),
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

function ticketRequest(body: GenerateBody): TicketRequest {
  const ctx = body.context ?? {};
  const context = Object.fromEntries(
    (["title", "description", "project", "url"] as const)
      .map((k) => [k, ctx[k]?.trim() ?? ""] as const)
      .filter(([, v]) => v !== ""),
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
    ...(["title", "description", "project", "url"] as const).map(
      (k) => [`context.${k}`, context[k]?.length ?? 0, INPUT_LIMITS[k]] as const,
    ),
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

function limitsFor(accountId: string, ip: string | null): Limit[] {
  return [
    { key: `generate:acc:${accountId}`, ...GENERATE_LIMITS.account },
    ...(ip ? [{ key: `generate:ip:${ip}`, ...GENERATE_LIMITS.ip }] : []),
  ];
}

// ── running one generation ───────────────────────────────────────────────

interface Job {
  env: Env;
  d: Db;
  accountId: string;
  generationId: string;
  holdId: string;
  /** The maximum cost held: the current price, which the pending row may have guessed wrong. */
  held: number;
  input: TicketRequest;
  price: FeaturePrice;
  started: number;
  requestId: string;
}

type Outcome =
  | {
      status: "succeeded" | "cancelled";
      title: string;
      description: string;
      charged: number;
      tokens: Tokens;
    }
  | { status: "failed"; error: { code: string; message: string }; charged: 0; tokens: Tokens };

/**
 * Streams the model's answer to `deliver`, then charges and records it.
 *
 * What is charged (API.md: "a client that disconnects after output began is
 * charged for what it received"):
 * - completed: the feature's price for the output tokens the model reported;
 * - the client went away (`signal`) after at least one delta was handed to
 *   the response stream: the price for the output delivered until then
 *   (tokens reported by the model if it finished, else estimated at 4
 *   characters a token), i.e. the base cost when there is no usage part;
 * - the client went away before any delta, or the model or we failed: 0.
 *
 * `deliver` returns false once the client is gone.
 */
async function execute(
  job: Job,
  signal: AbortSignal,
  deliver: (text: string) => boolean,
): Promise<{ outcome: Outcome; recorded: Promise<void> }> {
  const { env, d, input, price, generationId } = job;
  let output = "";
  let delivered = "";
  let model: string | null = null;
  let usage: Usage | null = null;
  let firstDeltaMs: number | null = null;
  let failure: UpstreamError | null = null;

  try {
    const stream = streamChat({
      ...providerFor(env, input),
      messages: buildMessages(input),
      maxTokens: MAX_OUTPUT_TOKENS[input.feature],
      signal,
    });
    for await (const event of stream) {
      if (event.type === "model") model = event.model;
      else if (event.type === "usage") usage = event.usage;
      else if (event.type === "delta") {
        const text = event.text.slice(0, MAX_OUTPUT_CHARS - output.length);
        output += text;
        firstDeltaMs ??= Date.now() - job.started;
        if (text && deliver(text)) delivered += text;
        // Leaving the loop closes the upstream request: the ticket is long enough.
        if (output.length >= MAX_OUTPUT_CHARS) break;
      }
    }
  } catch (error) {
    failure =
      error instanceof UpstreamError
        ? error
        : new UpstreamError("bad_response", error instanceof Error ? error.message : String(error));
    if (!(error instanceof UpstreamError)) {
      log("error", "generate.unexpected", { requestId: job.requestId, generationId, error: String(error) });
    }
  }

  const cancelled = signal.aborted;
  const parsed = parseTicket(cancelled ? delivered : output);
  if (!cancelled && !failure && !parsed.title && !parsed.description) {
    failure = new UpstreamError("bad_response", "The model returned an empty answer.");
  }
  const status: "succeeded" | "cancelled" | "failed" = cancelled
    ? "cancelled"
    : failure
      ? "failed"
      : "succeeded";
  let charge = 0;
  if (status === "succeeded") charge = costFor(price, usage?.outputTokens ?? estimateTokens(output));
  if (status === "cancelled" && delivered) {
    const reported = delivered.length === output.length ? usage?.outputTokens : undefined;
    charge = costFor(price, reported ?? estimateTokens(delivered));
  }

  const { charged, tokens, confirmed } = await closeHold(job, charge);
  if (status === "succeeded" && charged === 0 && charge > 0) {
    log("warn", "generate.uncharged", { generationId, reason: "the hold could not be settled" });
  }
  const errorCode =
    status === "failed"
      ? (failure?.kind ?? "bad_response")
      : !confirmed
        ? CHARGE_UNCONFIRMED
        : cancelled
          ? "client_closed"
          : null;
  // Recorded after the client has its answer: history is not on the critical path.
  const recorded = d
    .update(generations)
    .set({
      status,
      held: job.held,
      title: status === "failed" ? null : parsed.title,
      description: status === "failed" ? null : parsed.description,
      output: cancelled ? delivered : output,
      model,
      errorCode,
      charged,
      inputTokens: usage?.inputTokens ?? null,
      outputTokens: usage?.outputTokens ?? null,
      costUsd: usage?.costUsd ?? null,
      firstDeltaMs,
      latencyMs: Date.now() - job.started,
      completedAt: new Date(),
    })
    .where(eq(generations.id, generationId))
    .then(
      () => {},
      (error: unknown) => {
        log("error", "generate.record_failed", { generationId, error: String(error) });
      },
    );
  log(status === "failed" ? "warn" : "info", "generate.finished", {
    requestId: job.requestId,
    generationId,
    status,
    model,
    charged,
    errorKind: failure?.kind,
    error: failure?.message,
    ms: Date.now() - job.started,
  });

  if (status === "failed") {
    const error = { code: "upstream_error", message: userMessage(failure) };
    return { outcome: { status, error, charged: 0, tokens }, recorded };
  }
  return {
    outcome: { status, title: parsed.title, description: parsed.description, charged, tokens },
    recorded,
  };
}

/**
 * Pauses before each retry of a settle whose answer was lost. The settle is
 * idempotent by hold id with the same arguments, so a retry either finds the
 * first one's result or makes the charge itself.
 */
const SETTLE_RETRY_MS = [100, 400];

/** Recorded (with the attempted charge) when no settle attempt got an answer; the cron confirms it. */
export const CHARGE_UNCONFIRMED = "charge_unconfirmed";

/**
 * Settles the hold to `charge`, or voids it when nothing is owed, and says
 * what the wallet charged. Never charges more than held.
 */
async function closeHold(
  job: Job,
  charge: number,
): Promise<{ charged: number; tokens: Tokens; confirmed: boolean }> {
  const w = wallet(job.env, job.accountId);
  if (charge === 0) {
    try {
      const r = await w.void(job.holdId);
      return { charged: 0, tokens: r.tokens, confirmed: true };
    } catch (error) {
      // The wallet's alarm voids the hold at its deadline: nothing is charged either way.
      log("error", "generate.wallet_failed", { generationId: job.generationId, error: String(error) });
      return { charged: 0, tokens: await w.balance().catch(() => emptyTokens()), confirmed: true };
    }
  }
  const settlement = {
    holdId: job.holdId,
    amount: charge,
    description: `Ticket ${job.input.feature === "generate" ? "generation" : job.input.feature} (${job.input.site})`,
    feature: job.input.feature,
    generationId: job.generationId,
    reference: job.generationId,
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await w.settle(settlement);
      if (r.ok) return { charged: r.charged, tokens: r.tokens, confirmed: true };
      // The wallet released the hold (its deadline passed): the ticket is free.
      log("error", "generate.settle_refused", { generationId: job.generationId, code: r.code });
      return { charged: 0, tokens: r.tokens, confirmed: true };
    } catch (error) {
      // No answer: the charge may or may not be committed. Ask again.
      const pause = SETTLE_RETRY_MS[attempt];
      if (pause === undefined) {
        log("error", "generate.settle_unconfirmed", {
          generationId: job.generationId,
          charge,
          error: String(error),
        });
        return { charged: charge, tokens: await w.balance().catch(() => emptyTokens()), confirmed: false };
      }
      log("warn", "generate.settle_retry", { generationId: job.generationId, attempt, error: String(error) });
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

function userMessage(e: UpstreamError | null): string {
  const suffix = " Nothing was charged.";
  switch (e?.kind) {
    case "timeout":
      return `The AI model did not answer in time.${suffix}`;
    case "http":
      return e.status === 429
        ? `The AI model is busy right now. Try again in a moment.${suffix}`
        : `The AI model is unavailable (${e.status}).${suffix}`;
    case "stream_cut":
    case "stream_error":
      return `The AI model stopped before the ticket was complete.${suffix}`;
    default:
      return `The AI model could not write this ticket.${suffix}`;
  }
}

function emptyTokens(): Tokens {
  return { available: 0, held: 0, balance: 0, used: 0, purchased: 0, grants: [] };
}

// ── responses ────────────────────────────────────────────────────────────

type Send = (event: "start" | "delta" | "done" | "error", data: object) => boolean;

/**
 * An SSE body whose `run` outlives the handler. Cancelling the body (the
 * client disconnected) aborts `signal`, which stops the upstream request;
 * `send` then returns false. A delta counts as delivered once it is handed to
 * the response stream.
 */
function sseBody(run: (send: Send, signal: AbortSignal, close: () => void) => Promise<void>) {
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

function finalEvent(send: Send, generationId: string, outcome: Outcome) {
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

/** Where the time before the first upstream byte goes, as a `Server-Timing` header. */
function serverTiming() {
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
function background(c: Context<AppEnv>, work: Promise<unknown>) {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    // No execution context (a direct app.request without one): the promise still runs.
  }
}

/** A request with a key seen before: the first result, a conflict, or "still running". */
async function replay(c: Context<AppEnv>, row: GenerationRow, requestHash: string, sse: boolean) {
  if (row.requestHash !== requestHash) {
    throw new ApiError(409, "idempotency_conflict", "This Idempotency-Key was used with another request.");
  }
  if (row.status === "pending") {
    if (Date.now() - row.createdAt.getTime() < HOLD_TTL_MS) {
      throw new ApiError(409, "request_in_progress", "A request with this Idempotency-Key is still running.");
    }
    throw new ApiError(502, "upstream_error", "The first attempt with this Idempotency-Key did not finish.");
  }
  const tokens = await wallet(c.env, row.accountId).balance();
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
