import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../env";
import { ApiError, unauthorized } from "../../lib/errors";
import { sha256Hex } from "../../lib/ids";
import { bearerToken } from "../../lib/session";

export type AdminEnv = AppEnv & {
  Variables: {
    /** Who made the call, for the audit log: a fingerprint of the admin token. */
    adminActor: string;
  };
};

/** Hex digits of SHA-256(token) kept as the actor: enough to tell tokens apart after a rotation. */
const ACTOR_DIGITS = 12;

/**
 * `Authorization: Bearer <ADMIN_TOKEN>`, nothing else. Both sides are hashed
 * first so the comparison is constant-time over equal-length inputs whatever
 * the token's length. Session tokens are never looked up here, so a user's
 * session cannot reach admin routes.
 */
export const requireAdmin = createMiddleware<AdminEnv>(async (c, next) => {
  const expected = c.env.ADMIN_TOKEN;
  if (!expected) {
    throw new ApiError(503, "unavailable", "Admin routes are disabled: no ADMIN_TOKEN is configured.");
  }
  const given = bearerToken(c.req.header("Authorization"));
  if (!given || !(await sameSecret(given, expected))) {
    throw unauthorized("A valid admin token is required.");
  }
  c.set("adminActor", await adminFingerprint(expected));
  await next();
});

async function sameSecret(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([digest(a), digest(b)]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

export async function adminFingerprint(token: string): Promise<string> {
  return `admin:${(await sha256Hex(token)).slice(0, ACTOR_DIGITS)}`;
}
