import type { Usage } from "../../ai/types";
import { costFor, type FeaturePrice } from "../../billing/pricing";
import type { Env } from "../../env";
import { usageDescription } from "../../lib/entries";
import { log } from "../../lib/log";
import { CHARGE_UNCONFIRMED } from "../../wallet/admission";
import { wallet } from "../../wallet/client";
import type { CarriedGeneration, Tokens } from "../../wallet/types";

/** Rough output tokens per character, used only when the model reported no usage. */
const CHARS_PER_TOKEN = 4;

/** How a run ended, as far as charging is concerned. */
export type Ending = "completed" | "client_closed" | "failed";

export interface RunResult {
  ending: Ending;
  /** Everything the model sent (cut at the output limit). */
  output: string;
  /** What was handed to the client before it went away (equals `output` when it stayed). */
  delivered: string;
  usage: Usage | null;
}

/**
 * The charging rule (docs/api.md: "a client that disconnects after output began is
 * charged for what it received"):
 * - completed: the feature's price for the output tokens the model reported
 *   (estimated at 4 characters a token when it reported none);
 * - the client went away after text was handed to the response stream: the
 *   price for the output delivered until then (tokens reported by the model
 *   if it had finished, else estimated), i.e. the base cost without usage;
 * - the client went away before any text, or the model or we failed: 0.
 * Text is anything but whitespace: an answer the parser finds odd (fenced,
 * chatty, unlabelled) was still delivered, so it is charged; only an empty
 * or whitespace-only output is free.
 */
export function chargeFor(price: FeaturePrice, run: RunResult): number {
  switch (run.ending) {
    case "failed":
      return 0;
    case "completed":
      if (isBlank(run.output)) return 0;
      return costFor(price, run.usage?.outputTokens ?? estimateTokens(run.output));
    case "client_closed": {
      if (isBlank(run.delivered)) return 0;
      const reported = run.delivered.length === run.output.length ? run.usage?.outputTokens : undefined;
      return costFor(price, reported ?? estimateTokens(run.delivered));
    }
  }
}

const isBlank = (text: string) => text.trim() === "";

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** The hold a run closes: in the paying wallet, for one generation. */
export interface HoldRef {
  env: Env;
  /** The paying wallet: the caller's account, or a team. */
  walletId: string;
  holdId: string;
  generationId: string;
  feature: string;
  site: string;
}

/**
 * Pauses before each retry of a settle whose answer was lost. The settle is
 * idempotent by hold id with the same arguments, so a retry either finds the
 * first one's result or makes the charge itself.
 */
export const SETTLE_RETRY_MS = [100, 400];

/** Recorded (with the attempted charge) when no settle attempt got an answer; the cron confirms it. */
export { CHARGE_UNCONFIRMED };

/**
 * Settles the hold to `charge`, or voids it when nothing is owed, and says
 * what the wallet charged. Never charges more than held. With `generation`,
 * the usage entry carries what D1 keeps of it.
 */
export async function settleOrVoid(
  hold: HoldRef,
  charge: number,
  generation?: CarriedGeneration,
): Promise<{ charged: number; tokens: Tokens; confirmed: boolean }> {
  const w = wallet(hold.env, hold.walletId);
  if (charge === 0) {
    try {
      const r = await w.void(hold.holdId);
      return { charged: 0, tokens: r.tokens, confirmed: true };
    } catch (error) {
      // The wallet's alarm voids the hold at its deadline: nothing is charged either way.
      log("error", "generate.wallet_failed", { generationId: hold.generationId, error: String(error) });
      return { charged: 0, tokens: await w.balance().catch(() => emptyTokens()), confirmed: true };
    }
  }
  const settlement = {
    holdId: hold.holdId,
    amount: charge,
    description: usageDescription(hold.feature, hold.site),
    feature: hold.feature,
    generationId: hold.generationId,
    reference: hold.generationId,
    // A team's usage entry carries the generation to D1 (docs/decisions/025).
    ...(generation ? { generation } : {}),
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await w.settle(settlement);
      if (r.ok) return { charged: r.charged, tokens: r.tokens, confirmed: true };
      // The wallet released the hold (its deadline passed): the ticket is free.
      log("error", "generate.settle_refused", { generationId: hold.generationId, code: r.code });
      return { charged: 0, tokens: r.tokens, confirmed: true };
    } catch (error) {
      // No answer: the charge may or may not be committed. Ask again.
      const pause = SETTLE_RETRY_MS[attempt];
      if (pause === undefined) {
        log("error", "generate.settle_unconfirmed", {
          generationId: hold.generationId,
          charge,
          error: String(error),
        });
        return { charged: charge, tokens: await w.balance().catch(() => emptyTokens()), confirmed: false };
      }
      log("warn", "generate.settle_retry", {
        generationId: hold.generationId,
        attempt,
        error: String(error),
      });
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

export function emptyTokens(): Tokens {
  return { available: 0, held: 0, balance: 0, used: 0, purchased: 0, grants: [] };
}
