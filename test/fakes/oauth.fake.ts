import { createHash, createSign, generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A real OAuth 2.0 authorization server on loopback standing in for GitHub,
 * GitLab (gitlab.com and self-managed), Google and Atlassian, in their wire
 * formats. The Worker reaches it through OAUTH_BASE_URL_OVERRIDE: provider
 * URL `https://<host>/<path>` becomes `<fake>/<host>/<path>`; a self-managed
 * GitLab is `GITLAB_BASE_URL=<fake>/<any host name>`.
 *
 * There is no login page. Whoever follows the authorize URL says who logs in
 * with the header `X-Fake-Login: base64url(JSON FakeUser)`; without it the
 * server answers 400. `{"deny": true}` presses "Cancel".
 *
 * Client authentication: the secret of client `X` is `secret-X`.
 * The server enforces what the real ones do: registered redirect_uri equality,
 * one-time codes that expire, S256 PKCE, client secrets, bearer tokens, and
 * GitHub's mandatory User-Agent.
 */
export interface FakeUser {
  /** The provider's user id. */
  id: string | number;
  email?: string;
  emailVerified?: boolean;
  name?: string;
  login?: string;
  /** GitHub only: the /user/emails list (default: the email as primary). */
  githubEmails?: { email: string; primary: boolean; verified: boolean }[];
  /** Press "Cancel" at the provider. */
  deny?: boolean;
  /** Make the token endpoint refuse the code. */
  tokenError?: boolean;
}

interface Grant {
  host: string;
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  user: FakeUser;
  expiresAt: number;
  used: boolean;
}

const CODE_TTL_MS = 60_000;

export async function start() {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const codes = new Map<string, Grant>();
  const tokens = new Map<string, { host: string; clientId: string; user: FakeUser }>();

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => json(res, 500, { error: "server_error", message: String(error) }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    const [, host = "", ...rest] = url.pathname.split("/");
    const path = `/${rest.join("/")}`;
    // Google serves authorize and token from different hosts.
    const family = (h: string) => (h === "oauth2.googleapis.com" ? "accounts.google.com" : h);
    const issuerOf = (h: string) =>
      h === "accounts.google.com" || h === "oauth2.googleapis.com"
        ? "https://accounts.google.com"
        : h === "gitlab.com"
          ? "https://gitlab.com"
          : `http://${req.headers.host}/${h}`;

    // ── authorization endpoints ──
    if (
      req.method === "GET" &&
      ((host === "github.com" && path === "/login/oauth/authorize") ||
        (host === "accounts.google.com" && path === "/o/oauth2/v2/auth") ||
        (host === "auth.atlassian.com" && path === "/authorize") ||
        path === "/oauth/authorize")
    ) {
      const p = url.searchParams;
      const login = req.headers["x-fake-login"];
      if (typeof login !== "string") return text(res, 400, "No X-Fake-Login header: nobody logged in.");
      const user = JSON.parse(Buffer.from(login, "base64url").toString()) as FakeUser;
      const redirectUri = p.get("redirect_uri");
      if (p.get("response_type") !== "code" || !p.get("client_id") || !redirectUri) {
        return text(res, 400, "response_type=code, client_id and redirect_uri are required.");
      }
      if (p.get("code_challenge_method") !== "S256" || !/^[\w-]{43}$/.test(p.get("code_challenge") ?? "")) {
        return text(res, 400, "An S256 code_challenge is required.");
      }
      if (host === "auth.atlassian.com" && p.get("audience") !== "api.atlassian.com") {
        return text(res, 400, "audience=api.atlassian.com is required.");
      }
      const back = new URL(redirectUri);
      const state = p.get("state");
      if (user.deny) {
        back.searchParams.set("error", "access_denied");
        back.searchParams.set("error_description", "The user denied access.");
      } else {
        const code = randomBytes(20).toString("hex");
        codes.set(code, {
          host,
          clientId: p.get("client_id") as string,
          redirectUri,
          challenge: p.get("code_challenge") as string,
          scope: p.get("scope") ?? "",
          user,
          expiresAt: Date.now() + CODE_TTL_MS,
          used: false,
        });
        back.searchParams.set("code", code);
      }
      if (state !== null) back.searchParams.set("state", state);
      res.writeHead(302, { Location: back.href }).end();
      return;
    }

    // ── token endpoints ──
    if (
      req.method === "POST" &&
      ((host === "github.com" && path === "/login/oauth/access_token") ||
        (host === "oauth2.googleapis.com" && path === "/token") ||
        (host === "auth.atlassian.com" && path === "/oauth/token") ||
        path === "/oauth/token")
    ) {
      const github = host === "github.com";
      // GitHub answers OAuth errors with 200 and an error body.
      const fail = (status: number, error: string) => json(res, github ? 200 : status, { error });
      const body = await readBody(req);
      const form: Record<string, string> = req.headers["content-type"]?.includes("json")
        ? JSON.parse(body)
        : Object.fromEntries(new URLSearchParams(body));
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      const [basicId, basicSecret] = basic
        ? Buffer.from(basic, "base64").toString().split(":").map(decodeURIComponent)
        : [];
      const clientId = basicId ?? form.client_id;
      const secret = basicSecret ?? form.client_secret;
      if (!clientId || secret !== `secret-${clientId}`) {
        return fail(401, github ? "incorrect_client_credentials" : "invalid_client");
      }
      if (form.grant_type !== "authorization_code") return fail(400, "unsupported_grant_type");
      const grant = codes.get(form.code ?? "");
      const badCode = github ? "bad_verification_code" : "invalid_grant";
      if (!grant || grant.used || grant.expiresAt < Date.now() || grant.host !== family(host))
        return fail(400, badCode);
      grant.used = true;
      if (grant.clientId !== clientId || grant.redirectUri !== form.redirect_uri) return fail(400, badCode);
      const challenge = createHash("sha256")
        .update(form.code_verifier ?? "")
        .digest("base64url");
      if (challenge !== grant.challenge) return fail(400, badCode);
      if (grant.user.tokenError) return fail(400, badCode);

      const accessToken = randomBytes(20).toString("hex");
      tokens.set(accessToken, { host, clientId, user: grant.user });
      if (github) {
        return json(res, 200, {
          access_token: `gho_${accessToken}`,
          token_type: "bearer",
          scope: grant.scope.replaceAll(" ", ","),
        });
      }
      const base = { access_token: accessToken, token_type: "Bearer", expires_in: 3600, scope: grant.scope };
      if (host === "auth.atlassian.com") return json(res, 200, base);
      const now = Math.floor(Date.now() / 1000);
      const idToken = sign(privateKey, {
        iss: issuerOf(host),
        sub: String(grant.user.id),
        aud: clientId,
        iat: now,
        exp: now + 3600,
        ...(grant.user.email ? { email: grant.user.email, email_verified: !!grant.user.emailVerified } : {}),
      });
      return json(res, 200, { ...base, id_token: idToken, refresh_token: randomBytes(16).toString("hex") });
    }

    // ── resource endpoints ──
    const bearer = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? "";
    const session = tokens.get(bearer.replace(/^gho_/, ""));
    if (req.method === "GET" && host === "api.github.com" && (path === "/user" || path === "/user/emails")) {
      if (!req.headers["user-agent"]) return json(res, 403, { message: "Request forbidden: no User-Agent." });
      if (!session) return json(res, 401, { message: "Bad credentials" });
      const u = session.user;
      if (path === "/user") {
        return json(res, 200, {
          id: Number(u.id),
          login: u.login ?? `user${u.id}`,
          name: u.name ?? null,
          email: null,
        });
      }
      const emails =
        u.githubEmails ??
        (u.email
          ? [{ email: u.email, primary: true, verified: !!u.emailVerified, visibility: "private" }]
          : []);
      return json(res, 200, emails);
    }
    if (
      req.method === "GET" &&
      ((host === "openidconnect.googleapis.com" && path === "/v1/userinfo") || path === "/oauth/userinfo")
    ) {
      if (!session) return json(res, 401, { error: "invalid_token" });
      const u = session.user;
      return json(res, 200, {
        sub: String(u.id),
        name: u.name,
        nickname: u.login,
        ...(u.email ? { email: u.email, email_verified: !!u.emailVerified } : {}),
      });
    }
    if (req.method === "GET" && host === "api.atlassian.com" && path === "/me") {
      if (!session) return json(res, 401, { code: 401, message: "Unauthorized" });
      const u = session.user;
      return json(res, 200, {
        account_type: "atlassian",
        account_id: String(u.id),
        email: u.email,
        email_verified: !!u.emailVerified,
        name: u.name,
        nickname: u.login,
        account_status: "active",
      });
    }
    return json(res, 404, { error: "not_found", path: url.pathname });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function sign(key: import("node:crypto").KeyObject, claims: Record<string, unknown>): string {
  const header = Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "fake" })).toString("base64url");
  const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
  const signature = createSign("RSA-SHA256").update(`${header}.${payload}`).sign(key).toString("base64url");
  return `${header}.${payload}.${signature}`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString()));
    req.on("error", reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
}

function text(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, { "Content-Type": "text/plain" }).end(body);
}
