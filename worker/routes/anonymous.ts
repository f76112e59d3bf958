import { Hono } from "hono";
import { z } from "zod";
import { anonymousSession } from "../auth/anonymous";
import type { AppEnv } from "../env";
import { clientIp, rateLimit } from "../lib/rate-limit";
import { validate } from "../lib/validation";

const body = z.object({
  // A FingerprintJS visitor id is 20–32 characters; any other client id of a
  // similar shape works, since the per-IP cap, not the id, is what limits farming.
  visitorId: z
    .string()
    .trim()
    .min(8)
    .max(128)
    .regex(/^[\w.:-]+$/, "Use letters, digits and . _ : - only."),
});

/**
 * Each call stores a session, so calls are limited per address too (the daily
 * cap only counts new accounts).
 */
const perIp = rateLimit((c) => {
  const ip = clientIp(c);
  return ip ? [{ key: `anonymous:ip:${ip}`, limit: 60, periodMs: 60_000 }] : [];
});

export const anonymous = new Hono<AppEnv>().post("/anonymous", perIp, validate("json", body), async (c) => {
  const ip = clientIp(c);
  const result = await anonymousSession(c.env, c.req.valid("json").visitorId, ip, { url: c.req.url });
  c.header("X-Tokens-Remaining", String(result.tokens.available));
  return c.json(result);
});
