import { Hono } from "hono";
import { z } from "zod";
import { anonymousSession } from "../auth/anonymous";
import type { AppEnv } from "../env";
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

export const anonymous = new Hono<AppEnv>().post("/anonymous", validate("json", body), async (c) => {
  const ip = c.req.header("CF-Connecting-IP")?.trim() || null;
  const result = await anonymousSession(c.env, c.req.valid("json").visitorId, ip);
  c.header("X-Tokens-Remaining", String(result.tokens.available));
  return c.json(result);
});
