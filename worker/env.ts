import type { Wallet } from "./wallet/wallet";

/** Worker bindings and variables (docs/api.md, "Configuration"). */
export interface Env {
  DB: D1Database;
  WALLET: DurableObjectNamespace<Wallet>;
  /**
   * Per-address limit on generations (wrangler.toml `[[ratelimits]]`):
   * approximate and per location, answered without a round trip. Absent:
   * no per-address limit (the account's own limit, in its object, holds).
   */
  GENERATE_IP_LIMIT?: RateLimit;
  OPENROUTER_API_KEY?: string;
  OPENROUTER_BASE_URL?: string;
  OPENROUTER_MODEL?: string;
  /** Comma-separated models tried in order when the main one fails before streaming. */
  OPENROUTER_FALLBACK_MODELS?: string;
  /** Milliseconds without a byte from the model before a generation fails (default 30000; tests shorten it). */
  OPENROUTER_STALL_TIMEOUT_MS?: string;
  /** "allow" lets OpenRouter route to providers that store or train on prompts; default "deny". */
  OPENROUTER_DATA_COLLECTION?: string;
  STRIPE_SECRET_KEY?: string;
  STRIPE_WEBHOOK_SECRET?: string;
  STRIPE_API_BASE?: string;
  ADMIN_TOKEN?: string;
  AUTH_DEV_LOGIN?: string;
  ALLOWED_ORIGINS?: string;
  GITHUB_CLIENT_ID?: string;
  GITHUB_CLIENT_SECRET?: string;
  GITLAB_CLIENT_ID?: string;
  GITLAB_CLIENT_SECRET?: string;
  GITLAB_BASE_URL?: string;
  GOOGLE_CLIENT_ID?: string;
  GOOGLE_CLIENT_SECRET?: string;
  ATLASSIAN_CLIENT_ID?: string;
  ATLASSIAN_CLIENT_SECRET?: string;
  /**
   * Tests only: a loopback base URL that stands in for every OAuth provider
   * host (`https://github.com/x` → `<base>/github.com/x`). Ignored unless it is
   * http://127.0.0.1 or http://localhost, so it can never redirect production.
   */
  OAUTH_BASE_URL_OVERRIDE?: string;
  /**
   * HMAC key of signed session tokens (docs/decisions/017): the generate
   * route verifies them with no D1 read. Absent: on a loopback host a built-in
   * development key; elsewhere opaque tokens, looked up in D1.
   */
  SESSION_SIGNING_KEY?: string;
  /** The lowest log level written: "info" (default, a line per request), "warn" or "error". */
  LOG_LEVEL?: string;
  /** New anonymous accounts allowed per client IP per day (default 10). */
  ANON_ACCOUNTS_PER_IP_PER_DAY?: string;
  /** New user accounts receiving the welcome bonus per client address per day (default 5). */
  WELCOME_ACCOUNTS_PER_IP_PER_DAY?: string;
  /**
   * Extension ids a sign-in may return to, comma-separated, besides the
   * chrome-extension ids in ALLOWED_ORIGINS: a Firefox add-on's redirect id
   * (40 hex, the SHA-1 of its add-on id) or another Chrome id.
   */
  AUTH_REDIRECT_IDS?: string;
}

export interface Session {
  id: string;
  accountId: string;
  kind: "anonymous" | "user";
  /** An anonymous session obtained for a visitor id whose account already existed. */
  resumed?: boolean;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    session: Session;
    /** A blocked account can read but not generate or redeem. */
    accountBlocked: boolean;
    /** An anonymous account whose tokens moved to a user: it can read but not spend. */
    accountMerged: boolean;
  };
}
