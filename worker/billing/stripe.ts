import Stripe from "stripe";
import type { Env } from "../env";

/**
 * Billing runs on Stripe only when both keys are set; otherwise checkout
 * falls back to local demo billing (`demoBillingAllowed` in checkout.ts), refused on any
 * host but loopback.
 */
export function stripeConfigured(env: Env): boolean {
  return Boolean(env.STRIPE_SECRET_KEY && env.STRIPE_WEBHOOK_SECRET);
}

/**
 * The Stripe API version the Worker speaks, pinned rather than left to the
 * account's default: the shapes events/payload.ts reads are this version's.
 * It is the version the pinned SDK was built for (`Stripe.API_VERSION`).
 */
export const STRIPE_API_VERSION = "2026-10-28.endive" as const;

/**
 * A Stripe client over fetch (Node's http client does not exist on Workers),
 * pointed at `STRIPE_API_BASE` when set (the loopback fake in tests).
 */
export function stripeClient(env: Env): Stripe {
  if (!env.STRIPE_SECRET_KEY) throw new Error("STRIPE_SECRET_KEY is not set");
  const base = env.STRIPE_API_BASE ? new URL(env.STRIPE_API_BASE) : null;
  return new Stripe(env.STRIPE_SECRET_KEY, {
    apiVersion: STRIPE_API_VERSION,
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: 2,
    timeout: 15_000,
    ...(base
      ? {
          host: base.hostname,
          port: base.port || (base.protocol === "http:" ? 80 : 443),
          protocol: base.protocol === "http:" ? ("http" as const) : ("https" as const),
        }
      : {}),
  });
}

const cryptoProvider = Stripe.createSubtleCryptoProvider();

/**
 * Verifies a webhook's `Stripe-Signature` over the raw body and parses it.
 * Throws on a bad, missing or stale (older than 5 minutes) signature. The
 * synchronous `constructEvent` cannot run on Workers (docs/toolchain.md).
 */
export function verifyEvent(raw: string, signature: string, secret: string): Promise<Stripe.Event> {
  return Stripe.webhooks.constructEventAsync(raw, signature, secret, undefined, cryptoProvider);
}
