import { hc } from "hono/client";
// Type-only: nothing of the Worker ships in the extension.
import type { AppType } from "../../.types/worker/app";
import type {
  AnonymousResult,
  Balance,
  GenerateRequest,
  Generation,
  Health,
  Me,
  Page,
  Plans,
  Provider,
  SignInResult,
  TeamDetail,
  TeamInvite,
  TeamMember,
  TeamRole,
  TeamUsage,
  Tokens,
} from "./contract";

/**
 * The Worker's HTTP contract as the extension sees it (docs/api.md). Only the
 * background calls these; the panel and popup get the results by message.
 */

export type * from "./contract";

/** An error answer of the Worker, or a failure to reach it (`status` 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** Seconds, from `Retry-After` on 429/503. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** What crosses the messaging boundary (errors lose their class there). */
  toJSON(): ApiErrorInfo {
    return {
      status: this.status,
      code: this.code,
      message: this.message,
      details: this.details,
      ...(this.retryAfter !== undefined ? { retryAfter: this.retryAfter } : {}),
    };
  }
}

export interface ApiErrorInfo {
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
  retryAfter?: number;
}

/**
 * The balance an error reports: its `tokens` object when it carries one, else
 * a 402's `available` (docs/api.md: `insufficient_tokens` details). Null when it
 * says nothing about the balance.
 */
export function balanceFromError(error: ApiErrorInfo): Balance | null {
  const details = error.details ?? {};
  const tokens = details.tokens as Partial<Tokens> | null | undefined;
  if (tokens && typeof tokens === "object" && Number.isFinite(tokens.available)) return tokens as Balance;
  const available = details.available;
  if (error.code === "insufficient_tokens" && typeof available === "number" && Number.isFinite(available)) {
    return { available };
  }
  return null;
}

/**
 * The Worker could not be reached (status 0). `details.offline` tells the
 * two causes apart: true when the browser itself has no network
 * (`navigator.onLine`), false when it has one and MyBA's server did not answer.
 */
export const NETWORK_ERROR = "network_error";
/** The background needs the user's choice about the device identifier before anything is computed. */
export const CONSENT_REQUIRED = "consent_required";

/** How long a JSON call waits for the Worker before it counts as unreachable (the stream has its own timers). */
export const REQUEST_TIMEOUT_MS = 8000;

/** The failure to reach the Worker at `base`, worded for its cause. */
export function unreachable(base: string): ApiError {
  const offline = typeof navigator !== "undefined" && navigator.onLine === false;
  return offline
    ? new ApiError(
        0,
        NETWORK_ERROR,
        "You are offline. MyBA needs a connection; try again once you are back online.",
        {
          offline: true,
        },
      )
    : new ApiError(
        0,
        NETWORK_ERROR,
        `MyBA's server is unreachable (${base}). You are online, so the trouble is on MyBA's side; try again in a moment.`,
        { offline: false },
      );
}
/** The background has no visitor id yet: a view with a DOM must compute one (lib/fingerprint.ts). */
export const VISITOR_ID_REQUIRED = "visitor_id_required";
/**
 * 403 from the Worker: this needs an account. From `POST /api/anonymous` it
 * means this browser's anonymous tokens moved to a signed-in account, so it
 * is signed out until the user signs in again.
 */
export const SIGN_IN_REQUIRED = "sign_in_required";

/** Reads the contract's error body (`{error: {code, message, ...details}}`) from a failed response. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  const retryAfter = parseRetryAfter(res.headers.get("Retry-After"));
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // A proxy's HTML error page or an empty body: fall through to a generic message.
  }
  const error = (body as { error?: Record<string, unknown> } | null)?.error;
  if (error && typeof error.code === "string") {
    const { code, message, ...details } = error;
    return new ApiError(
      res.status,
      code,
      typeof message === "string" ? message : res.statusText,
      details,
      retryAfter,
    );
  }
  return new ApiError(
    res.status,
    res.status >= 500 ? "unavailable" : "http_error",
    `The MyBA service answered ${res.status}.`,
    {},
    retryAfter,
  );
}

function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiOptions {
  baseUrl: string;
  fetch?: Fetch;
}

/** What `call` needs of a response: hc's typed `ClientResponse` and a plain `Response` both fit. */
interface JsonResponse<T> {
  ok: boolean;
  json(): Promise<T>;
}

/**
 * The typed client of the contract: Hono's `hc` over the Worker's exported
 * `AppType` (type-only; the declarations come from `npm run typecheck`, see
 * docs/decisions/004-typed-api-client.md). Each method names the contract
 * type it returns, so a Worker route whose answer drifts from docs/api.md fails
 * the extension's typecheck. The session token is passed per call: the
 * session manager decides which token a call runs with.
 */
export function createApi({ baseUrl, fetch: doFetch = (i, init) => fetch(i, init) }: ApiOptions) {
  const base = baseUrl.replace(/\/+$/, "");
  // A Worker that accepts the connection and never answers must not keep a view on "Loading…".
  const timed: Fetch = (input, init) =>
    doFetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const client = hc<AppType>(base, { fetch: timed as typeof fetch });
  const auth = (token: string | null | undefined) =>
    token ? { headers: { Authorization: `Bearer ${token}` } } : {};

  /** Network failures become `network_error`; error answers become `ApiError`s from their body. */
  async function call<T>(send: () => Promise<JsonResponse<T>>): Promise<T> {
    let res: JsonResponse<T>;
    try {
      res = await send();
    } catch (err) {
      if ((err as Error)?.name === "AbortError") throw err;
      throw unreachable(base);
    }
    if (!res.ok) throw await errorFromResponse(res as unknown as Response);
    return res.json();
  }

  /** Untyped requests: the SSE stream and the Markdown export, which hc does not model. */
  async function raw(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
    const { token, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token) headers.set("Authorization", `Bearer ${token}`);
    if (rest.body !== undefined && !headers.has("Content-Type"))
      headers.set("Content-Type", "application/json");
    try {
      return await doFetch(`${base}${path}`, { ...rest, headers });
    } catch (err) {
      if ((err as Error)?.name === "AbortError") throw err;
      throw unreachable(base);
    }
  }

  return {
    baseUrl: base,
    raw,
    anonymous: (visitorId: string) =>
      call<AnonymousResult>(() => client.api.anonymous.$post({ json: { visitorId } })),
    health: () => call<Health>(() => client.api.health.$get()),
    me: (token: string) => call<Me>(() => client.api.me.$get({}, auth(token))),
    plans: (token: string | null) => call<Plans>(() => client.api.plans.$get({}, auth(token))),
    providers: () => call<Provider[]>(() => client.auth.providers.$get()),
    token: (json: { code: string; codeVerifier: string; anonymousToken?: string }) =>
      call<SignInResult>(() => client.auth.token.$post({ json })),
    devLogin: (json: { email: string; anonymousToken?: string }) =>
      call<SignInResult>(() => client.auth["dev-login"].$post({ json })),
    logout: (token: string) => call<unknown>(() => client.auth.logout.$post({}, auth(token))),
    checkout: (token: string, planId: string, teamId?: string) =>
      call<{ url: string; id: string }>(() =>
        // `teamId` (docs/api.md, Teams): the route's schema gains it on the billing side.
        client.api.checkout.$post({ json: { planId, ...(teamId ? { teamId } : {}) } }, auth(token)),
      ),
    redeem: (token: string, code: string) =>
      call<{ granted: number; tokens: Tokens }>(() =>
        client.api.promo.redeem.$post({ json: { code } }, auth(token)),
      ),
    generations: (token: string, cursor?: string) =>
      call<Page<Generation>>(() =>
        client.api.me.generations.$get(
          { query: { limit: "20", ...(cursor ? { cursor } : {}) } },
          auth(token),
        ),
      ),
    generation: (token: string, id: string) =>
      call<Generation>(
        // The route also answers Markdown (`?format=md`); without it, the JSON shape.
        () =>
          client.api.me.generations[":id"].$get({ param: { id }, query: {} }, auth(token)) as Promise<
            JsonResponse<Generation>
          >,
      ),
    generationMarkdown: async (token: string, id: string) => {
      const res = await raw(`/api/me/generations/${encodeURIComponent(id)}?format=md`, { token });
      if (!res.ok) throw await errorFromResponse(res);
      return res.text();
    },
    createTeam: (token: string, name: string) =>
      call<{ team: TeamDetail["team"]; tokens: Tokens }>(() =>
        client.api.teams.$post({ json: { name } }, auth(token)),
      ),
    team: (token: string, id: string) =>
      call<TeamDetail>(() => client.api.teams[":id"].$get({ param: { id } }, auth(token))),
    invite: (
      token: string,
      id: string,
      json: { email?: string; role?: "admin" | "member"; monthlyLimit?: number | null },
    ) =>
      call<{ invite: TeamInvite }>(() =>
        client.api.teams[":id"].invites.$post({ param: { id }, json }, auth(token)),
      ),
    joinTeam: (token: string, code: string) =>
      call<{ team: TeamDetail["team"]; tokens: Tokens }>(() =>
        client.api.teams.join.$post({ json: { code } }, auth(token)),
      ),
    changeMember: (
      token: string,
      id: string,
      accountId: string,
      json: { role?: TeamRole; monthlyLimit?: number | null },
    ) =>
      call<{ member: TeamMember | undefined }>(() =>
        client.api.teams[":id"].members[":accountId"].$patch({ param: { id, accountId }, json }, auth(token)),
      ),
    removeMember: (token: string, id: string, accountId: string) =>
      call<{ removed: true }>(() =>
        client.api.teams[":id"].members[":accountId"].$delete({ param: { id, accountId } }, auth(token)),
      ),
    teamUsage: (token: string, id: string, days = 30) =>
      call<TeamUsage>(() =>
        client.api.teams[":id"].usage.$get({ param: { id }, query: { days: String(days) } }, auth(token)),
      ),
    /** Opens the SSE stream of a generation; the caller reads and relays it. */
    generate: (token: string, request: GenerateRequest, idempotencyKey: string, signal: AbortSignal) =>
      raw("/api/generate", {
        method: "POST",
        body: JSON.stringify(request),
        token,
        signal,
        headers: { Accept: "text/event-stream", "Idempotency-Key": idempotencyKey },
      }),
  };
}

export type Api = ReturnType<typeof createApi>;
