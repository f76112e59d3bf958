import { eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { type Db, db } from "../db/client";
import { rateLimits } from "../db/schema";
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
 * Hand-written rather than Workers' rate-limiting binding, whose counts are
 * per location and approximate: a cap that guards tokens must hold exactly.
 *
 * GCRA (the "generic cell rate algorithm") over D1: each key stores one
 * theoretical arrival time, so a check is one atomic upsert, with no window
 * boundary where a client could fire twice the limit. Shared by every
 * Worker instance because it lives in D1.
 *
 * A limit passed alongside a refused one still counts the request (a small
 * overcount that only errs on the strict side).
 */
export async function checkRateLimits(
  d1: D1Database,
  limits: Limit[],
  now = Date.now(),
): Promise<RateLimitResult> {
  const [first, ...rest] = rateLimitQueries(db(d1), limits, now);
  if (!first) return { ok: true };
  return rateLimitVerdict(await db(d1).batch([first, ...rest]), limits, now);
}

/**
 * The statements of a check, two per limit, for callers that fold them into
 * a larger D1 batch (one round trip); read the results with `rateLimitVerdict`.
 */
export function rateLimitQueries(d: Db, limits: Limit[], now: number) {
  return limits.flatMap((l) => {
    const interval = l.periodMs / l.limit;
    const next = sql`max(${rateLimits.tat}, ${now}) + ${interval}`;
    return [
      d
        .insert(rateLimits)
        .values({ key: l.key, tat: now + interval })
        .onConflictDoUpdate({
          target: rateLimits.key,
          set: { tat: next },
          setWhere: sql`${next} - ${now} <= ${l.periodMs}`,
        })
        .returning({ tat: rateLimits.tat }),
      d.select({ tat: rateLimits.tat }).from(rateLimits).where(eq(rateLimits.key, l.key)),
    ];
  });
}

export function rateLimitVerdict(results: unknown[], limits: Limit[], now: number): RateLimitResult {
  for (const [i, l] of limits.entries()) {
    if (((results[2 * i] as unknown[] | undefined)?.length ?? 0) > 0) continue;
    const tat = (results[2 * i + 1] as { tat: number }[] | undefined)?.[0]?.tat ?? now;
    const retryAfterMs = Math.max(0, Math.max(tat, now) + l.periodMs / l.limit - l.periodMs - now);
    return { ok: false, key: l.key, retryAfterMs };
  }
  return { ok: true };
}

/** The contract's 429, with `Retry-After` in whole seconds. */
export function rateLimited(retryAfterMs: number, message = "Too many requests."): ApiError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ApiError(
    429,
    "rate_limited",
    `${message} Try again in ${seconds} second${seconds === 1 ? "" : "s"}.`,
    { retryAfter: seconds },
    { "Retry-After": String(seconds) },
  );
}

/** Forgets keys whose state has fully drained (their next request would be allowed anyway). */
export async function pruneRateLimits(d1: D1Database, now = Date.now()): Promise<number> {
  const r = await d1.prepare("DELETE FROM rate_limits WHERE tat < ?").bind(now).run();
  return r.meta.changes ?? 0;
}

/**
 * The client's address as every per-address cap and rate limit counts it:
 * an IPv4 address as is, an IPv6 address by its /64 (one host is handed a
 * whole /64 and can pick any address in it). Null locally when Cloudflare's
 * header is absent.
 */
export function clientIp(c: Context<AppEnv>): string | null {
  const raw = c.req.header("CF-Connecting-IP")?.trim();
  return raw ? addressKey(raw) : null;
}

/** `2001:db8:1:2:…` → `2001:db8:1:2::/64`; IPv4 (also IPv4-mapped IPv6) unchanged. */
export function addressKey(ip: string): string {
  const address = ip
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/%.*$/, "");
  if (!address.includes(":")) return address;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (mapped?.[1]) return mapped[1];
  const [head = "", tail] = address.split("::", 2);
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  // An embedded IPv4 tail takes two groups; it never reaches the first four.
  const width = right.length > 0 && right[right.length - 1]?.includes(".") ? 7 : 8;
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(Math.max(0, width - left.length - right.length)).fill("0"), ...right];
  if (groups.length < 4 || !groups.slice(0, 4).every((g) => /^[0-9a-f]{1,4}$/.test(g))) return address;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/**
 * Middleware refusing with `429 rate_limited` and `Retry-After` (seconds)
 * once any of the limits `limitsFor(c)` returns is exceeded. Runs after
 * authentication when its limits name the account.
 */
export const rateLimit = (limitsFor: (c: Context<AppEnv>) => Limit[]) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const result = await checkRateLimits(c.env.DB, limitsFor(c));
    if (!result.ok) throw rateLimited(result.retryAfterMs);
    await next();
  });
