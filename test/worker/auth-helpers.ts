import { env } from "cloudflare:test";
import { expect, inject } from "vitest";
import { app } from "../../worker/app";
import type { Env } from "../../worker/env";
// Who logs in at the fake provider; a type import only, as the fake runs in Node.
import type { FakeUser } from "../fakes/oauth.fake";

/** Shared by the identity tests (anonymous, session, auth*). */

export const CHROME_REDIRECT = "https://ocbanhjklocoagnmjekgklfdibifkcnm.chromiumapp.org/";
export const FIREFOX_REDIRECT = `https://${"0123456789abcdef".repeat(2)}01234567.extensions.allizom.org/`;

/** Every provider configured against the loopback fake (its secret convention: `secret-<client id>`). */
export function oauthEnv(extra: Partial<Env> = {}): Env {
  return {
    ...env,
    GITHUB_CLIENT_ID: "gh-client",
    GITHUB_CLIENT_SECRET: "secret-gh-client",
    GITLAB_CLIENT_ID: "gl-client",
    GITLAB_CLIENT_SECRET: "secret-gl-client",
    GOOGLE_CLIENT_ID: "google-client",
    GOOGLE_CLIENT_SECRET: "secret-google-client",
    ATLASSIAN_CLIENT_ID: "atl-client",
    ATLASSIAN_CLIENT_SECRET: "secret-atl-client",
    OAUTH_BASE_URL_OVERRIDE: inject("fakes").oauth,
    AUTH_REDIRECT_IDS: FIREFOX_REDIRECT.slice(8, 48),
    ...extra,
  };
}

export function call(path: string, init: RequestInit = {}, e: Env = oauthEnv()) {
  return app.request(path, init, e);
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}, e?: Env) {
  return call(
    path,
    {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify(body),
    },
    e,
  );
}

export function fakeLogin(user: FakeUser): Record<string, string> {
  const json = new TextEncoder().encode(JSON.stringify(user));
  return { "X-Fake-Login": base64url(json) };
}

export function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** The extension's PKCE pair, as it would make it. */
export async function pkce() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url(new Uint8Array(digest)) };
}

export function startUrl(provider: string, q: Record<string, string>) {
  return `/auth/${provider}/start?${new URLSearchParams(q)}`;
}

/**
 * The browser's half of launchWebAuthFlow: /start → provider (logging in as
 * `user`) → /callback. Returns the URL the browser lands on (the extension's
 * redirect URL) and the extension's PKCE pair and state.
 */
export async function authorize(
  provider: string,
  user: FakeUser,
  opts: { env?: Env; redirectUri?: string } = {},
) {
  const e = opts.env ?? oauthEnv();
  const { verifier, challenge } = await pkce();
  const state = crypto.randomUUID();
  const start = await call(
    startUrl(provider, {
      redirect_uri: opts.redirectUri ?? CHROME_REDIRECT,
      state,
      code_challenge: challenge,
      code_challenge_method: "S256",
    }),
    {},
    e,
  );
  expect(start.status).toBe(302);
  const atProvider = await fetch(start.headers.get("Location") as string, {
    headers: fakeLogin(user),
    redirect: "manual",
  });
  expect(atProvider.status).toBe(302);
  const callback = new URL(atProvider.headers.get("Location") as string);
  const done = await call(`${callback.pathname}${callback.search}`, {}, e);
  expect(done.status).toBe(302);
  const landed = new URL(done.headers.get("Location") as string);
  return { landed, verifier, state, callback };
}

/** The whole sign-in: authorize, then POST /auth/token. */
export async function signIn(
  provider: string,
  user: FakeUser,
  opts: { env?: Env; anonymousToken?: string } = {},
) {
  const { landed, verifier } = await authorize(provider, user, opts);
  const code = landed.searchParams.get("code");
  expect(code, `sign-in failed: ${landed.href}`).toBeTruthy();
  const res = await postJson(
    "/auth/token",
    { code, codeVerifier: verifier, anonymousToken: opts.anonymousToken },
    {},
    opts.env,
  );
  expect(res.status).toBe(200);
  return res.json<SignInResult>();
}

export interface SignInResult {
  token: string;
  account: { id: string; kind: "user"; email?: string; name?: string };
  tokens: { available: number; held: number };
  transferred: number;
  welcomeGranted: boolean;
}

export async function devLogin(email: string, anonymousToken?: string) {
  const res = await postJson("/auth/dev-login", { email, anonymousToken });
  expect(res.status).toBe(200);
  return res.json<SignInResult>();
}

/** A new client address each call unless given, so the per-IP caps only bite where a test means them to. */
export async function anonymousSession(visitorId: string, ip = randomIp()) {
  const res = await postJson("/api/anonymous", { visitorId }, { "CF-Connecting-IP": ip });
  expect(res.status).toBe(200);
  return res.json<{
    token: string;
    account: { id: string; kind: "anonymous" };
    tokens: { available: number };
    created: boolean;
  }>();
}

/** GET /api/me: the balance a person would see. */
export async function me(token: string) {
  const res = await call("/api/me", { headers: { Authorization: `Bearer ${token}` } });
  return {
    status: res.status,
    body: res.status === 200 ? await res.json<MeBody>() : null,
  };
}

export interface MeBody {
  account: { id: string; kind: string; email?: string; name?: string };
  tokens: { available: number; held: number; grants: { source: string; remaining: number }[] };
}

export function uniqueId(prefix = "v") {
  return `${prefix}-${crypto.randomUUID()}`;
}

function randomIp(): string {
  const [a = 0, b = 0, c = 0] = crypto.getRandomValues(new Uint8Array(3));
  return `100.${64 + (a % 64)}.${b}.${c}`;
}
