import type { Env } from "../env";
import { MOCK_MODEL, mockFetch } from "./mock";
import { type ChatOptions, DEFAULT_BASE_URL, DEFAULT_MODEL, DEFAULT_STALL_TIMEOUT_MS } from "./openrouter";
import type { TicketRequest } from "./types";

export type Provider = Pick<
  ChatOptions,
  "baseUrl" | "apiKey" | "models" | "fetch" | "stallTimeoutMs" | "dataCollection"
>;

/**
 * OpenRouter when a key is configured, otherwise the built-in mock speaking
 * OpenRouter's wire format through the same client (docs/api.md, "Configuration");
 * `mockVariant` picks the mock's wording (the route refuses the mock off loopback).
 */
export function providerFor(env: Env, req: TicketRequest, mockVariant = 0): Provider {
  const stallTimeoutMs = Number(env.OPENROUTER_STALL_TIMEOUT_MS) || DEFAULT_STALL_TIMEOUT_MS;
  // Only an explicit "allow" lets providers that store or train on prompts serve us.
  const dataCollection = env.OPENROUTER_DATA_COLLECTION?.trim().toLowerCase() === "allow" ? "allow" : "deny";
  if (!env.OPENROUTER_API_KEY) {
    return {
      baseUrl: DEFAULT_BASE_URL,
      apiKey: "mock",
      models: [MOCK_MODEL],
      fetch: mockFetch(req, mockVariant),
      stallTimeoutMs,
    };
  }
  const fallbacks = (env.OPENROUTER_FALLBACK_MODELS ?? "")
    .split(",")
    .map((m) => m.trim())
    .filter(Boolean);
  const main = env.OPENROUTER_MODEL?.trim() || DEFAULT_MODEL;
  return {
    baseUrl: env.OPENROUTER_BASE_URL?.trim() || DEFAULT_BASE_URL,
    apiKey: env.OPENROUTER_API_KEY,
    models: [...new Set([main, ...fallbacks])],
    stallTimeoutMs,
    dataCollection,
  };
}
