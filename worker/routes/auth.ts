import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { finishCallback, redeemCode, startSignIn } from "../auth/flow";
import { configuredProviders, type Provider, provider } from "../auth/providers";
import { isAllowedRedirectUri, isExtensionRedirectUri } from "../auth/redirect";
import { completeSignIn } from "../auth/signin";
import { findOrCreateUser, normalizeEmail } from "../auth/users";
import type { AppEnv } from "../env";
import { ApiError, notFound, unauthorized } from "../lib/errors";
import { isLoopbackHost } from "../lib/loopback";
import { clientIp, rateLimit } from "../lib/rate-limit";
import { bearerToken, revokeSession, sessionByToken } from "../lib/session";
import { validate } from "../lib/validation";

const startQuery = z.object({
  redirect_uri: z
    .string()
    .refine(
      isExtensionRedirectUri,
      "Must be the extension's redirect URL: https://<id>.chromiumapp.org/… or https://<id>.extensions.allizom.org/…",
    ),
  state: z.string().min(1).max(512),
  // RFC 7636: BASE64URL(SHA-256(verifier)), always 43 characters.
  code_challenge: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "Must be an S256 code challenge."),
  code_challenge_method: z.literal("S256").optional(),
});

const anonymousToken = z.string().min(1).max(512).optional();

const tokenBody = z.object({
  code: z.string().min(1).max(512),
  // RFC 7636 §4.1: 43–128 characters of [A-Za-z0-9-._~].
  codeVerifier: z.string().regex(/^[A-Za-z0-9._~-]{43,128}$/, "Must be a PKCE code verifier."),
  anonymousToken,
});

const devLoginBody = z.object({
  email: z.email().max(254),
  anonymousToken,
});

/** 404 for a provider that is unknown or has no credentials. */
function requireProvider(env: AppEnv["Bindings"], id: string): Provider {
  const p = provider(env, id);
  if (!p) throw notFound(`The sign-in provider "${id}"`);
  return p;
}

/** Runs before validation and limits, so an unknown provider is a 404 whatever the query. */
const knownProvider = createMiddleware<AppEnv>(async (c, next) => {
  requireProvider(c.env, c.req.param("provider") ?? "");
  await next();
});

/**
 * Dev-login exists only where AUTH_DEV_LOGIN is "true" AND the host is
 * loopback; elsewhere it is not there at all, whatever the variables.
 */
const devLoginEnabled = createMiddleware<AppEnv>(async (c, next) => {
  if (c.env.AUTH_DEV_LOGIN !== "true" || !isLoopbackHost(c.req.url)) {
    throw new ApiError(404, "not_found", `No route for ${c.req.method} ${c.req.path}.`);
  }
  await next();
});

/** Sign-in steps store rows and call providers: limited per address. */
const perIp = (step: string) =>
  rateLimit((c) => {
    const ip = clientIp(c);
    return ip ? [{ key: `auth:${step}:ip:${ip}`, limit: 30, periodMs: 60_000 }] : [];
  });

export const auth = new Hono<AppEnv>()
  .get("/providers", (c) => c.json(configuredProviders(c.env).map(({ id, name }) => ({ id, name }))))

  .get("/:provider/start", knownProvider, perIp("start"), validate("query", startQuery), async (c) => {
    const p = requireProvider(c.env, c.req.param("provider"));
    const q = c.req.valid("query");
    if (!isAllowedRedirectUri(c.env, q.redirect_uri)) {
      throw new ApiError(400, "invalid_request", "The request is not valid.", {
        issues: [
          { path: "redirect_uri", message: "Must be the redirect URL of this deployment's extension." },
        ],
      });
    }
    const url = await startSignIn(c.env, p, {
      redirectUri: q.redirect_uri,
      clientState: q.state,
      codeChallenge: q.code_challenge,
      callbackUrl: new URL(`/auth/${p.id}/callback`, c.req.url).href,
    });
    c.header("Cache-Control", "no-store");
    return c.redirect(url, 302);
  })

  .get("/:provider/callback", knownProvider, perIp("callback"), async (c) => {
    const p = requireProvider(c.env, c.req.param("provider"));
    const url = await finishCallback(c.env, p, new URL(c.req.url));
    c.header("Cache-Control", "no-store");
    return c.redirect(url, 302);
  })

  .post("/token", perIp("token"), validate("json", tokenBody), async (c) => {
    const body = c.req.valid("json");
    const { accountId, token } = await redeemCode(c.env, body.code, body.codeVerifier, c.req.url);
    const result = await completeSignIn(c.env, accountId, {
      token,
      anonymousToken: body.anonymousToken,
      ip: clientIp(c),
    });
    c.header("X-Tokens-Remaining", String(result.tokens.available));
    return c.json(result);
  })

  .post("/dev-login", devLoginEnabled, validate("json", devLoginBody), async (c) => {
    const body = c.req.valid("json");
    const email = normalizeEmail(body.email);
    const account = await findOrCreateUser(c.env, "dev", {
      subject: email,
      email,
      emailVerified: true,
      name: null,
    });
    const result = await completeSignIn(c.env, account.id, {
      anonymousToken: body.anonymousToken,
      ip: clientIp(c),
      url: c.req.url,
    });
    c.header("X-Tokens-Remaining", String(result.tokens.available));
    return c.json(result);
  })

  .post("/logout", async (c) => {
    const token = bearerToken(c.req.header("Authorization"));
    if (!token) throw unauthorized();
    const session = await sessionByToken(c.env.DB, token);
    if (!session) throw unauthorized("The session is unknown.");
    // Logging out twice is fine: the client only wants the token dead.
    await revokeSession(c.env, session);
    return c.json({ revoked: true });
  });
