import * as oauth from "oauth4webapi";
import type { Env } from "../env";
import { isLoopbackHost } from "../lib/loopback";

/**
 * The OAuth providers MyBA signs in with. Each is offered only when its client
 * id and secret are configured; the protocol work (PKCE, token requests,
 * response validation, ID token claims) is oauth4webapi's.
 */
export const PROVIDER_IDS = ["github", "gitlab", "google", "atlassian"] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** What a provider vouches for about the person who signed in. */
export interface VerifiedIdentity {
  /** The provider's stable user id (never the email, which can change hands). */
  subject: string;
  email: string | null;
  /** Only a verified email may link this identity to an existing user. */
  emailVerified: boolean;
  name: string | null;
}

export interface Provider {
  id: ProviderId;
  name: string;
  /**
   * The `identities.provider` value. A self-managed GitLab numbers its users
   * independently of gitlab.com, so its subjects live in their own namespace.
   */
  namespace: string;
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  clientAuth: oauth.ClientAuth;
  scope: string;
  /** Extra authorization request parameters the provider needs. */
  extraParams: Record<string, string>;
  /** Options for every HTTP call to this provider. */
  http: { signal: () => AbortSignal; [oauth.allowInsecureRequests]?: boolean };
  identity(tokens: oauth.TokenEndpointResponse): Promise<VerifiedIdentity>;
}

const NAMES: Record<ProviderId, string> = {
  github: "GitHub",
  gitlab: "GitLab",
  google: "Google",
  atlassian: "Atlassian",
};

const TIMEOUT_MS = 10_000;

/** The providers whose credentials are configured, in a stable order. */
export function configuredProviders(env: Env): Provider[] {
  return PROVIDER_IDS.map((id) => provider(env, id)).filter((p): p is Provider => p !== null);
}

/** A configured provider by id, or null (unknown id or no credentials). */
export function provider(env: Env, id: string): Provider | null {
  switch (id) {
    case "github":
      return github(env);
    case "gitlab":
      return gitlab(env);
    case "google":
      return google(env);
    case "atlassian":
      return atlassian(env);
    default:
      return null;
  }
}

function github(env: Env): Provider | null {
  const creds = credentials(env.GITHUB_CLIENT_ID, env.GITHUB_CLIENT_SECRET);
  if (!creds) return null;
  const api = at(env, "https://api.github.com");
  return base("github", "github", creds, {
    as: {
      issuer: "https://github.com",
      authorization_endpoint: at(env, "https://github.com/login/oauth/authorize"),
      token_endpoint: at(env, "https://github.com/login/oauth/access_token"),
    },
    scope: "read:user user:email",
    async identity(p, tokens) {
      const headers = {
        Accept: "application/vnd.github+json",
        // GitHub refuses API calls without a User-Agent.
        "User-Agent": "MyBA",
        "X-GitHub-Api-Version": "2022-11-28",
      };
      const user = await getJson<{ id: number; login: string; name: string | null }>(
        p,
        tokens,
        `${api}/user`,
        headers,
      );
      // The profile's `email` is whatever the user made public and says nothing
      // about verification; /user/emails does.
      const emails = await getJson<{ email: string; primary: boolean; verified: boolean }[]>(
        p,
        tokens,
        `${api}/user/emails`,
        headers,
      ).catch(() => []);
      const primary = Array.isArray(emails) ? emails.find((e) => e.primary && e.verified) : undefined;
      return {
        subject: String(user.id),
        email: primary?.email ?? null,
        emailVerified: Boolean(primary),
        name: user.name || user.login || null,
      };
    },
  });
}

function gitlab(env: Env): Provider | null {
  const creds = credentials(env.GITLAB_CLIENT_ID, env.GITLAB_CLIENT_SECRET);
  if (!creds) return null;
  const configured = env.GITLAB_BASE_URL?.trim().replace(/\/+$/, "");
  let issuer = "https://gitlab.com";
  if (configured) {
    const url = safeUrl(configured);
    if (!url || (url.protocol !== "https:" && !isLoopbackHost(url))) return null;
    issuer = configured;
  }
  const selfManaged = issuer !== "https://gitlab.com";
  // gitlab.com goes through the test override like every public provider; a
  // self-managed base URL is already wherever it should be.
  const root = selfManaged ? issuer : at(env, issuer);
  return base("gitlab", selfManaged ? `gitlab:${new URL(issuer).host}` : "gitlab", creds, {
    as: {
      issuer,
      authorization_endpoint: `${root}/oauth/authorize`,
      token_endpoint: `${root}/oauth/token`,
      userinfo_endpoint: `${root}/oauth/userinfo`,
    },
    scope: "openid profile email",
    identity: oidcIdentity,
  });
}

function google(env: Env): Provider | null {
  const creds = credentials(env.GOOGLE_CLIENT_ID, env.GOOGLE_CLIENT_SECRET);
  if (!creds) return null;
  return base("google", "google", creds, {
    as: {
      issuer: "https://accounts.google.com",
      authorization_endpoint: at(env, "https://accounts.google.com/o/oauth2/v2/auth"),
      token_endpoint: at(env, "https://oauth2.googleapis.com/token"),
      userinfo_endpoint: at(env, "https://openidconnect.googleapis.com/v1/userinfo"),
    },
    scope: "openid email profile",
    identity: oidcIdentity,
  });
}

function atlassian(env: Env): Provider | null {
  const creds = credentials(env.ATLASSIAN_CLIENT_ID, env.ATLASSIAN_CLIENT_SECRET);
  if (!creds) return null;
  const me = at(env, "https://api.atlassian.com/me");
  return base("atlassian", "atlassian", creds, {
    as: {
      issuer: "https://auth.atlassian.com",
      authorization_endpoint: at(env, "https://auth.atlassian.com/authorize"),
      token_endpoint: at(env, "https://auth.atlassian.com/oauth/token"),
    },
    scope: "read:me",
    extraParams: { audience: "api.atlassian.com", prompt: "consent" },
    async identity(p, tokens) {
      const user = await getJson<{
        account_id: string;
        email?: string;
        email_verified?: boolean;
        name?: string;
        nickname?: string;
      }>(p, tokens, me, { Accept: "application/json" });
      return {
        subject: requireSubject(user.account_id),
        email: user.email ?? null,
        emailVerified: user.email_verified === true && Boolean(user.email),
        name: user.name || user.nickname || null,
      };
    },
  });
}

// ── helpers ──────────────────────────────────────────────────────────────

interface Spec {
  as: oauth.AuthorizationServer;
  scope: string;
  extraParams?: Record<string, string>;
  identity(p: Provider, tokens: oauth.TokenEndpointResponse): Promise<VerifiedIdentity>;
}

function base(
  id: ProviderId,
  namespace: string,
  creds: { clientId: string; clientSecret: string },
  spec: Spec,
): Provider {
  const endpoints = [spec.as.authorization_endpoint, spec.as.token_endpoint, spec.as.userinfo_endpoint];
  const insecure = endpoints.some((e) => e && new URL(e).protocol === "http:");
  const p: Provider = {
    id,
    name: NAMES[id],
    namespace,
    as: spec.as,
    client: { client_id: creds.clientId },
    clientAuth: oauth.ClientSecretPost(creds.clientSecret),
    scope: spec.scope,
    extraParams: spec.extraParams ?? {},
    // Plain http is only ever a loopback test double: `at()` and the GitLab
    // check refuse anything else.
    http: {
      signal: () => AbortSignal.timeout(TIMEOUT_MS),
      ...(insecure ? { [oauth.allowInsecureRequests]: true } : {}),
    },
    identity: (tokens) => spec.identity(p, tokens),
  };
  return p;
}

/** OpenID Connect userinfo, checked against the ID token's subject when there is one. */
async function oidcIdentity(p: Provider, tokens: oauth.TokenEndpointResponse): Promise<VerifiedIdentity> {
  const idToken = oauth.getValidatedIdTokenClaims(tokens);
  const response = await oauth.userInfoRequest(p.as, p.client, tokens.access_token, p.http);
  const info = await oauth.processUserInfoResponse(
    p.as,
    p.client,
    idToken?.sub ?? oauth.skipSubjectCheck,
    response,
  );
  const email = typeof info.email === "string" ? info.email : null;
  return {
    subject: requireSubject(info.sub),
    email,
    emailVerified: info.email_verified === true && email !== null,
    name: info.name || info.nickname || info.preferred_username || null,
  };
}

async function getJson<T>(
  p: Provider,
  tokens: oauth.TokenEndpointResponse,
  url: string,
  headers: Record<string, string>,
): Promise<T> {
  const response = await oauth.protectedResourceRequest(
    tokens.access_token,
    "GET",
    new URL(url),
    new Headers(headers),
    null,
    p.http,
  );
  if (!response.ok) throw new Error(`${p.id} answered ${response.status} for ${new URL(url).pathname}`);
  return (await response.json()) as T;
}

function requireSubject(value: unknown): string {
  if ((typeof value !== "string" && typeof value !== "number") || String(value).length === 0) {
    throw new Error("The provider returned no user id.");
  }
  return String(value);
}

function credentials(clientId?: string, clientSecret?: string) {
  const id = clientId?.trim();
  const secret = clientSecret?.trim();
  return id && secret ? { clientId: id, clientSecret: secret } : null;
}

/**
 * A provider URL, or its stand-in on the loopback test double when
 * OAUTH_BASE_URL_OVERRIDE is set: `https://github.com/x` → `<base>/github.com/x`.
 */
function at(env: Env, url: string): string {
  const override = testBaseUrl(env);
  if (!override) return url;
  const u = new URL(url);
  return `${override}/${u.host}${u.pathname === "/" ? "" : u.pathname}`;
}

function testBaseUrl(env: Env): string | null {
  const url = env.OAUTH_BASE_URL_OVERRIDE ? safeUrl(env.OAUTH_BASE_URL_OVERRIDE) : null;
  // Only loopback: a stray production setting must not send users elsewhere.
  if (!url || !isLoopbackHost(url) || url.protocol !== "http:") return null;
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

function safeUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}
