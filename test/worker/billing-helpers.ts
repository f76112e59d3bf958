import { createExecutionContext, env } from "cloudflare:test";
import Stripe from "stripe";
import { inject } from "vitest";
import { app } from "../../worker/app";
import { db } from "../../worker/db/client";
import { accounts } from "../../worker/db/schema";
import type { Env } from "../../worker/env";
import { newId } from "../../worker/lib/ids";
import { createSession } from "../../worker/lib/session";
import { wallet } from "../../worker/wallet/client";
import type { Tokens } from "../../worker/wallet/types";

export const WEBHOOK_SECRET = "whsec_test_payments";

/** The Worker's env with Stripe configured against the loopback fake. */
export function stripeEnv(): Env {
  return {
    ...env,
    STRIPE_SECRET_KEY: "sk_test_payments",
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE: inject("fakes").stripe,
  };
}

/** The Worker's env without Stripe keys (demo billing on loopback). */
export const demoEnv = (): Env => ({ ...env });

export interface TestAccount {
  id: string;
  token: string;
}

/** A signed-in (or anonymous) account with a session, made directly in D1. */
export async function newAccount(
  opts: { kind?: "user" | "anonymous"; idHint?: string; blocked?: boolean } = {},
): Promise<TestAccount> {
  const kind = opts.kind ?? "user";
  const id = opts.idHint ? `acc_${opts.idHint}_${newId("acc").slice(4)}` : newId("acc");
  await db(env.DB)
    .insert(accounts)
    .values({
      id,
      kind,
      email: kind === "user" ? `${id}@example.test` : null,
      status: opts.blocked ? "blocked" : "active",
      createdAt: new Date(),
    });
  const { token } = await createSession(env, id, kind, { url: "http://localhost/" });
  return { id, token };
}

/** Calls the app on `host` (loopback by default) with the given env. */
export async function call(
  path: string,
  opts: {
    method?: string;
    body?: unknown;
    token?: string;
    env?: Env;
    host?: string;
    headers?: Record<string, string>;
    rawBody?: string;
  } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body: string | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  return app.request(
    `http://${opts.host ?? "127.0.0.1:8787"}${path}`,
    { method: opts.method ?? (body === undefined ? "GET" : "POST"), headers, body },
    opts.env ?? stripeEnv(),
    createExecutionContext(),
  );
}

const crypto = Stripe.createSubtleCryptoProvider();

/** Delivers `event` to the webhook, signed like Stripe does (or not, per `sign`). */
export async function deliver(
  event: TestEvent,
  sign: { secret?: string; timestamp?: number; header?: string | null } = {},
): Promise<Response> {
  const payload = JSON.stringify(event);
  const header =
    sign.header !== undefined
      ? sign.header
      : await Stripe.webhooks.generateTestHeaderStringAsync({
          payload,
          secret: sign.secret ?? WEBHOOK_SECRET,
          cryptoProvider: crypto,
          ...(sign.timestamp !== undefined ? { timestamp: sign.timestamp } : {}),
        });
  return call("/api/webhooks/stripe", {
    method: "POST",
    rawBody: payload,
    headers: {
      "Content-Type": "application/json",
      ...(header === null ? {} : { "Stripe-Signature": header }),
    },
  });
}

export interface TestEvent {
  id: string;
  object: "event";
  type: string;
  created: number;
  api_version: string;
  livemode: false;
  data: { object: Record<string, unknown> };
}

const unique = () => newId("evt").slice(4);
const nowSec = () => Math.floor(Date.now() / 1000);
export const DAY = 24 * 60 * 60;

export function event(type: string, object: Record<string, unknown>, id = `evt_${unique()}`): TestEvent {
  return {
    id,
    object: "event",
    type,
    created: nowSec(),
    api_version: "2026-10-28.endive",
    livemode: false,
    data: { object },
  };
}

export {
  charge,
  dispute,
  invoice,
  invoicePayment,
  packSession,
  subscription,
  subscriptionSession,
} from "./billing-stripe-objects";

export async function tokensOf(accountId: string): Promise<Tokens> {
  return wallet(env, accountId).balance();
}

export async function availableOf(accountId: string): Promise<number> {
  return (await tokensOf(accountId)).available;
}

/** Spends `amount` tokens the way a generation does: hold, then settle. */
export async function spend(accountId: string, amount: number): Promise<void> {
  const w = wallet(env, accountId);
  const hold = await w.reserve({ key: `spend-${unique()}`, amount, ttlMs: 60_000 });
  if (!hold.ok) throw new Error(`reserve failed: ${hold.code}`);
  const settled = await w.settle({ holdId: hold.holdId, amount, description: "test usage" });
  if (!settled.ok) throw new Error(`settle failed: ${settled.code}`);
}

export { nowSec };
