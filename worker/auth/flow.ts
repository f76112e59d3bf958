import { and, eq, gt, isNull, lt } from "drizzle-orm";
import * as oauth from "oauth4webapi";
import { db } from "../db/client";
import { authCodes, authRequests } from "../db/schema";
import type { Env } from "../env";
import { ApiError } from "../lib/errors";
import { newId, randomToken, sha256Hex } from "../lib/ids";
import { log } from "../lib/log";
import { createSession, revokeSession } from "../lib/session";
import type { Provider } from "./providers";
import { redirectWith } from "./redirect";
import { findOrCreateUser } from "./users";

/** Time to log in at the provider, from /start to /callback. */
export const REQUEST_TTL_MS = 10 * 60 * 1000;
/** The extension trades its code right after launchWebAuthFlow returns. */
export const CODE_TTL_MS = 2 * 60 * 1000;

/**
 * `GET /auth/:provider/start`: remembers the extension's request and sends
 * the browser to the provider with the Worker's own state and PKCE pair (the
 * extension's never leave MyBA). Returns the provider's authorization URL.
 */
export async function startSignIn(
  env: Env,
  provider: Provider,
  input: { redirectUri: string; clientState: string; codeChallenge: string; callbackUrl: string },
): Promise<string> {
  const now = Date.now();
  await purgeExpired(env, now);
  const state = oauth.generateRandomState();
  const verifier = oauth.generateRandomCodeVerifier();
  await db(env.DB)
    .insert(authRequests)
    .values({
      id: newId("req"),
      provider: provider.id,
      stateHash: await sha256Hex(state),
      providerVerifier: verifier,
      callbackUrl: input.callbackUrl,
      redirectUri: input.redirectUri,
      clientState: input.clientState,
      codeChallenge: input.codeChallenge,
      createdAt: new Date(now),
      expiresAt: new Date(now + REQUEST_TTL_MS),
    });
  const url = new URL(provider.as.authorization_endpoint as string);
  const params = {
    client_id: provider.client.client_id,
    redirect_uri: input.callbackUrl,
    response_type: "code",
    scope: provider.scope,
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    ...provider.extraParams,
  };
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.href;
}

/**
 * `GET /auth/:provider/callback`: the provider sends the browser back here.
 * An unknown, expired or reused `state` is answered here (400): there is no
 * trustworthy place to redirect to. Past that, every outcome goes back to the
 * extension's redirect URL with its own state: `code` on success, `error`
 * otherwise (OAuth's error codes).
 */
export async function finishCallback(env: Env, provider: Provider, callback: URL): Promise<string> {
  const state = callback.searchParams.get("state");
  if (!state) throw badRequest("The provider's answer has no state. Start signing in again.");
  const now = Date.now();
  const [request] = await db(env.DB)
    .update(authRequests)
    .set({ consumedAt: new Date(now) })
    .where(
      and(
        eq(authRequests.stateHash, await sha256Hex(state)),
        eq(authRequests.provider, provider.id),
        isNull(authRequests.consumedAt),
        gt(authRequests.expiresAt, new Date(now)),
      ),
    )
    .returning();
  if (!request) {
    throw badRequest("This sign-in is unknown, expired or already finished. Start signing in again.");
  }
  const back = (params: Record<string, string>) =>
    redirectWith(request.redirectUri, { ...params, state: request.clientState });

  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(provider.as, provider.client, callback.searchParams, state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      // Most often the person pressed "Cancel" (access_denied).
      return back({
        error: /^[a-z_]{1,64}$/.test(error.error) ? error.error : "server_error",
        error_description: "The provider did not sign you in.",
      });
    }
    log("warn", "auth.callback_invalid", { provider: provider.id, error: describe(error) });
    return back({ error: "server_error", error_description: "The provider's answer was not valid." });
  }

  let accountId: string;
  try {
    const response = await oauth.authorizationCodeGrantRequest(
      provider.as,
      provider.client,
      provider.clientAuth,
      params,
      request.callbackUrl,
      request.providerVerifier,
      provider.http,
    );
    const tokens = await oauth.processAuthorizationCodeResponse(provider.as, provider.client, response);
    const identity = await provider.identity(tokens);
    accountId = (await findOrCreateUser(env, provider.namespace, identity)).id;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    log("warn", "auth.exchange_failed", { provider: provider.id, error: describe(error) });
    return back({ error: "server_error", error_description: "The provider did not confirm the sign-in." });
  }

  const code = `mybac_${randomToken(32)}`;
  await db(env.DB)
    .insert(authCodes)
    .values({
      id: newId("cod"),
      codeHash: await sha256Hex(code),
      accountId,
      codeChallenge: request.codeChallenge,
      createdAt: new Date(now),
      expiresAt: new Date(Date.now() + CODE_TTL_MS),
    });
  return back({ code });
}

/**
 * `POST /auth/token`: trades a one-time code and the extension's PKCE
 * verifier for a session. The code is burned by the first attempt, right or
 * wrong. A code presented again is refused and, as RFC 6749 §4.1.2 asks,
 * the session it bought is revoked: whoever replays it may have stolen it.
 * Both orders of a race end with that session revoked: the replay marks the
 * code and revokes a recorded session; the redemption records its session
 * and revokes it if the mark is already there.
 */
export async function redeemCode(
  env: Env,
  code: string,
  codeVerifier: string,
  /** The request's URL: on a loopback host the session token is signed with the development key. */
  url?: string,
): Promise<{ accountId: string; token: string }> {
  const d = db(env.DB);
  const codeHash = await sha256Hex(code);
  const now = new Date();
  const [row] = await d
    .update(authCodes)
    .set({ usedAt: now })
    .where(and(eq(authCodes.codeHash, codeHash), isNull(authCodes.usedAt), gt(authCodes.expiresAt, now)))
    .returning();
  if (!row) {
    const [replay] = await d
      .update(authCodes)
      .set({ replayedAt: now })
      .where(and(eq(authCodes.codeHash, codeHash), isNull(authCodes.replayedAt)))
      .returning();
    const known = replay ?? (await d.query.authCodes.findFirst({ where: eq(authCodes.codeHash, codeHash) }));
    if (known?.usedAt && known.sessionId) {
      await revokeSession(env, { id: known.sessionId, accountId: known.accountId });
    }
    if (known?.usedAt) log("warn", "auth.code_replayed", { accountId: known.accountId });
    throw badRequest(
      known?.usedAt
        ? "This sign-in code was already used. Sign in again."
        : "This sign-in code is unknown or expired. Sign in again.",
    );
  }
  const expected = row.codeChallenge;
  const actual = await oauth.calculatePKCECodeChallenge(codeVerifier);
  if (!(await equalSecrets(actual, expected))) {
    throw badRequest("The code verifier does not match this sign-in. Sign in again.");
  }
  const { token, session } = await createSession(env, row.accountId, "user", { url });
  const [recorded] = await d
    .update(authCodes)
    .set({ sessionId: session.id })
    .where(eq(authCodes.id, row.id))
    .returning({ replayedAt: authCodes.replayedAt });
  if (recorded?.replayedAt) {
    await revokeSession(env, session);
    throw badRequest("This sign-in code was presented twice. Sign in again.");
  }
  return { accountId: row.accountId, token };
}

/** Finished and abandoned sign-ins only matter for a short while. */
async function purgeExpired(env: Env, now: number): Promise<void> {
  const cutoff = new Date(now - 24 * 60 * 60 * 1000);
  await db(env.DB).batch([
    db(env.DB).delete(authRequests).where(lt(authRequests.expiresAt, cutoff)),
    db(env.DB).delete(authCodes).where(lt(authCodes.expiresAt, cutoff)),
  ]);
}

/** Compares two strings without leaking where they differ. */
async function equalSecrets(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest("SHA-256", enc.encode(a)),
    crypto.subtle.digest("SHA-256", enc.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

function badRequest(message: string): ApiError {
  return new ApiError(400, "invalid_request", message);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
