/** Size limits beyond which a request is refused with 413 (docs/api.md: prompt 1..4000 chars). */
export const INPUT_LIMITS = {
  prompt: 4000,
  title: 1000,
  description: 20_000,
  project: 200,
  url: 2048,
  template: 20_000,
};

/**
 * The largest body /api/generate accepts: every field at its limit, each
 * character written as a JSON `\uXXXX` escape (6 bytes; a 4-byte UTF-8
 * character is 2 UTF-16 units, so never more than that), plus room for the
 * keys and the short fields. A body that passes the field limits is never
 * refused for its size.
 */
export const MAX_GENERATE_BODY_BYTES =
  Object.values(INPUT_LIMITS).reduce((sum, chars) => sum + chars, 0) * 6 + 4096;
/** Output past this many characters is cut off and the upstream request stopped. */
export const MAX_OUTPUT_CHARS = 16_000;
/** A hold outlives the longest generation; the wallet's alarm voids it if we crash. */
export const HOLD_TTL_MS = 5 * 60_000;
/**
 * Per account (exact, in the account's wallet object) and per client IP
 * (several people may share one address; the Rate Limiting binding
 * `GENERATE_IP_LIMIT`, whose limit and period wrangler.toml repeats).
 */
export const GENERATE_LIMITS = {
  account: { limit: 20, periodMs: 60_000 },
  ip: { limit: 60, periodMs: 60_000 },
};
