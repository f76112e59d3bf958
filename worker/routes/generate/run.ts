import { mockVariant } from "../../ai/mock";
import { streamChat, UpstreamError } from "../../ai/openrouter";
import { parseTicket } from "../../ai/parse";
import { buildMessages, MAX_OUTPUT_TOKENS } from "../../ai/prompts";
import { providerFor } from "../../ai/provider";
import type { TicketRequest, Usage } from "../../ai/types";
import type { FeaturePrice } from "../../billing/pricing";
import { sha256Hex } from "../../lib/ids";
import { log } from "../../lib/log";
import type { CarriedGeneration, FinishArgs, Tokens } from "../../wallet/types";
import { CHARGE_UNCONFIRMED, chargeFor, type Ending, type HoldRef, settleOrVoid } from "./charge";
import { MAX_OUTPUT_CHARS } from "./config";
import { finishRecord } from "./record";

/** An admitted generation: its hold is taken and its pending record written in the account's object. */
export interface Job extends HoldRef {
  accountId: string;
  sessionId: string;
  /** The team paying (its object holds), or null: the account pays. */
  teamId: string | null;
  idempotencyKey: string;
  /** The maximum cost held at the admitted price. */
  held: number;
  input: TicketRequest;
  /** The price admitted, and its version: the charge follows it whatever changes meanwhile. */
  price: FeaturePrice;
  priceVersion: string;
  started: number;
  requestId: string;
  /** OpenRouter's `user` for the paying wallet, computed beside the admission (`upstreamUser`). */
  upstreamUser: string;
  /** Work that waits until the first token is out (the address's count in the binding); later calls do nothing. */
  afterFirstDelta: () => void;
}

/** How one generation ended, as the client is told. */
export type RunOutcome =
  | {
      status: "succeeded" | "cancelled";
      title: string;
      description: string;
      charged: number;
      tokens: Tokens;
    }
  | { status: "failed"; error: { code: string; message: string }; charged: 0; tokens: Tokens };

/**
 * Streams the model's answer to `deliver`, then charges it (`chargeFor`) and
 * records it. `deliver` returns false once the client is gone; `signal`
 * aborts when it leaves.
 */
export async function execute(
  job: Job,
  signal: AbortSignal,
  deliver: (text: string) => boolean,
): Promise<{ outcome: RunOutcome; recorded: Promise<void> }> {
  const { env, input, price, generationId } = job;
  let output = "";
  let delivered = "";
  let model: string | null = null;
  let upstreamId: string | null = null;
  let usage: Usage | null = null;
  let firstDeltaMs: number | null = null;
  let failure: UpstreamError | null = null;

  try {
    const stream = streamChat({
      ...providerFor(env, input, mockVariant(job.idempotencyKey)),
      messages: buildMessages(input),
      maxTokens: MAX_OUTPUT_TOKENS[input.feature],
      user: job.upstreamUser,
      signal,
    });
    for await (const event of stream) {
      if (event.type === "model") model = event.model;
      else if (event.type === "upstream_id") upstreamId = event.id;
      else if (event.type === "usage") usage = event.usage;
      else if (event.type === "delta") {
        const text = event.text.slice(0, MAX_OUTPUT_CHARS - output.length);
        output += text;
        firstDeltaMs ??= Date.now() - job.started;
        if (text && deliver(text)) delivered += text;
        job.afterFirstDelta();
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

  job.afterFirstDelta(); // no token came: nothing left to wait for
  const cancelled = signal.aborted;
  const parsed = parseTicket(cancelled ? delivered : output);
  // Only an empty or whitespace-only answer is the model's failure; any text
  // it delivered is a ticket (the parser always finds one) and is paid for.
  if (!cancelled && !failure && output.trim() === "") {
    failure = new UpstreamError("bad_response", "The model returned an empty answer.");
  }
  const ending: Ending = cancelled ? "client_closed" : failure ? "failed" : "completed";
  const status = ending === "client_closed" ? "cancelled" : ending === "failed" ? "failed" : "succeeded";
  const charge = chargeFor(price, { ending, output, delivered, usage });

  const record: FinishArgs["outcome"] = {
    status,
    title: status === "failed" ? null : parsed.title,
    description: status === "failed" ? null : parsed.description,
    output: cancelled ? delivered : output,
    model,
    upstreamId,
    errorCode: status === "failed" ? (failure?.kind ?? "bad_response") : cancelled ? "client_closed" : null,
    inputTokens: usage?.inputTokens ?? null,
    outputTokens: usage?.outputTokens ?? null,
    costUsd: usage?.costUsd ?? null,
    firstDeltaMs,
    latencyMs: Date.now() - job.started,
  };
  let charged: number;
  let tokens: Tokens;
  let recorded: Promise<void>;
  if (job.teamId === null) {
    // One call settles (or voids) and records: the account's object is the wallet.
    ({ charged, tokens } = await finishRecord(job, charge, record));
    recorded = Promise.resolve();
  } else {
    // The team's object settles; the record, in the member's object, follows
    // after the client has its answer (history is not on the critical path).
    // The team's usage entry carries what D1 keeps of the generation (decision 025).
    const carried: CarriedGeneration | undefined =
      status === "failed"
        ? undefined
        : {
            accountId: job.accountId,
            sessionId: job.sessionId,
            site: input.site,
            model,
            status,
            latencyMs: record.latencyMs,
            firstDeltaMs,
            costUsd: record.costUsd,
            startedAt: job.started,
          };
    const settled = await settleOrVoid(job, charge, carried);
    ({ charged, tokens } = settled);
    const errorCode = settled.confirmed ? record.errorCode : CHARGE_UNCONFIRMED;
    const inTeamEntry = settled.confirmed && charged > 0;
    recorded = finishRecord(job, charged, { ...record, errorCode }, inTeamEntry).then(() => {});
  }
  if (status === "succeeded" && charged === 0 && charge > 0) {
    log("warn", "generate.uncharged", { generationId, reason: "the hold could not be settled" });
  }
  log(status === "failed" ? "warn" : "info", "generate.finished", {
    requestId: job.requestId,
    generationId,
    status,
    model,
    charged,
    priceVersion: job.priceVersion,
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
 * OpenRouter's `user` for a wallet: a hash of its id, stable across requests
 * and telling OpenRouter nothing about the person (never an email).
 */
export async function upstreamUser(walletId: string): Promise<string> {
  return `myba_${(await sha256Hex(`openrouter-user:${walletId}`)).slice(0, 32)}`;
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
