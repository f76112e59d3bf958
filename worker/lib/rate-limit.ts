import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "./errors";

/** At most `limit` requests per `periodMs` for `key`, in bursts of up to `limit`. */
export interface Limit {
  key: string;
  limit: number;
  periodMs: number;
}

export type RateLimitResult = { ok: true } | { ok: false; key: string; retryAfterMs: number };

/**
 * GCRA (the "generic cell rate algorithm") over D1: each key stores one
 * theoretical arrival time, so a check is one atomic upsert, with no window
 * boundary where a client could fire twice the limit. Shared by every
 * Worker instance because it lives in D1.
 *
 * Each limit is checked in order and a refused one stops the rest; a limit
 * passed before a refused one still counts the request (a small overcount
 * that only errs on the strict side).
 */
export async function checkRateLimits(
  d1: D1Database,
  limits: Limit[],
  now = Date.now(),
): Promise<RateLimitResult> {
  if (limits.length === 0) return { ok: true };
  const statements = limits.flatMap((l) => {
    const interval = l.periodMs / l.limit;
    return [
      d1
        .prepare(
          `INSERT INTO rate_limits (key, tat) VALUES (?1, ?2 + ?3)
           ON CONFLICT (key) DO UPDATE SET tat = max(tat, ?2) + ?3
             WHERE max(tat, ?2) + ?3 - ?2 <= ?4
           RETURNING tat`,
        )
        .bind(l.key, now, interval, l.periodMs),
      d1.prepare("SELECT tat FROM rate_limits WHERE key = ?1").bind(l.key),
    ];
  });
  const results = await d1.batch<{ tat: number }>(statements);
  for (const [i, l] of limits.entries()) {
    if ((results[2 * i]?.results.length ?? 0) > 0) continue;
    const tat = results[2 * i + 1]?.results[0]?.tat ?? now;
    const retryAfterMs = Math.max(0, Math.max(tat, now) + l.periodMs / l.limit - l.periodMs - now);
    return { ok: false, key: l.key, retryAfterMs };
  }
  return { ok: true };
}

/** Forgets keys whose state has fully drained (their next request would be allowed anyway). */
export async function pruneRateLimits(d1: D1Database, now = Date.now()): Promise<number> {
  const r = await d1.prepare("DELETE FROM rate_limits WHERE tat < ?").bind(now).run();
  return r.meta.changes ?? 0;
}

/** The client's address as Cloudflare reports it; null locally when there is none. */
export function clientIp(c: Context<AppEnv>): string | null {
  return c.req.header("CF-Connecting-IP") ?? null;
}

/**
 * Middleware refusing with `429 rate_limited` and `Retry-After` (seconds)
 * once any of the limits `limitsFor(c)` returns is exceeded. Runs after
 * authentication when its limits name the account.
 */
export const rateLimit = (limitsFor: (c: Context<AppEnv>) => Limit[]) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const result = await checkRateLimits(c.env.DB, limitsFor(c));
    if (!result.ok) {
      const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
      throw new ApiError(
        429,
        "rate_limited",
        `Too many requests. Try again in ${seconds} second${seconds === 1 ? "" : "s"}.`,
        { retryAfter: seconds },
        { "Retry-After": String(seconds) },
      );
    }
    await next();
  });
