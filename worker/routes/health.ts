import { Hono } from "hono";
import type { AppEnv } from "../env";
import { isLoopbackHost } from "../lib/loopback";

export const VERSION = "0.1.0";

export const health = new Hono<AppEnv>().get("/health", (c) =>
  c.json({
    status: "ok" as const,
    version: VERSION,
    time: new Date().toISOString(),
    // What a generation here would use: the mock answers only on a loopback host.
    ai: c.env.OPENROUTER_API_KEY
      ? ("openrouter" as const)
      : isLoopbackHost(c.req.url)
        ? ("mock" as const)
        : ("unavailable" as const),
    billing: c.env.STRIPE_SECRET_KEY && c.env.STRIPE_WEBHOOK_SECRET ? ("stripe" as const) : ("demo" as const),
  }),
);
