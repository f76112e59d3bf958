import { env } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import {
  anonymousSession,
  authorize,
  CHROME_REDIRECT,
  call,
  FIREFOX_REDIRECT,
  fakeLogin,
  me,
  oauthEnv,
  pkce,
  postJson,
  signIn,
  startUrl,
  uniqueId,
} from "./auth-helpers";

// The whole code flow runs against test/fakes/oauth.fake.ts on loopback:
// extension → /start → provider authorize → /callback → extension → /token.

let nextId = 1000;
const person = (extra: Record<string, unknown> = {}) => {
  const id = nextId++;
  return { id, email: `p${id}@example.com`, emailVerified: true, name: `Person ${id}`, ...extra };
};

async function startWith(q: Record<string, string>, provider = "github") {
  return call(startUrl(provider, q));
}

async function validStart() {
  const { challenge } = await pkce();
  return { redirect_uri: CHROME_REDIRECT, state: "ext-state-123", code_challenge: challenge };
}

describe("GET /auth/providers", () => {
  it("offers only providers whose client id and secret are configured", async () => {
    const none = await call("/auth/providers", {}, { ...env });
    expect(await none.json()).toEqual([]);

    const all = await call("/auth/providers");
    expect(await all.json()).toEqual([
      { id: "github", name: "GitHub" },
      { id: "gitlab", name: "GitLab" },
      { id: "google", name: "Google" },
      { id: "atlassian", name: "Atlassian" },
    ]);

    const idOnly = await call(
      "/auth/providers",
      {},
      { ...env, GOOGLE_CLIENT_ID: "x", GITHUB_CLIENT_ID: "y", GITHUB_CLIENT_SECRET: "z" },
    );
    expect(await idOnly.json()).toEqual([{ id: "github", name: "GitHub" }]);
  });

  it("answers 404 for a provider that is unknown or not configured", async () => {
    const q = await validStart();
    const unknown = await startWith(q, "facebook");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "not_found" } });
    const unconfigured = await call(startUrl("google", q), {}, { ...env });
    expect(unconfigured.status).toBe(404);
  });
});

describe("the full code flow, per provider", () => {
  it.each([["github"], ["gitlab"], ["google"], ["atlassian"]])(
    "%s: signs in, creates the user with the verified email and grants the welcome bonus",
    async (provider) => {
      const who = person();
      const r = await signIn(provider, who);
      expect(r.account).toMatchObject({ kind: "user", email: who.email, name: who.name });
      expect(r.welcomeGranted).toBe(true);
      expect(r.transferred).toBe(0);
      expect(r.tokens.available).toBe(6);
      const seen = await me(r.token);
      expect(seen.status).toBe(200);
      expect(seen.body?.account).toMatchObject({ id: r.account.id, kind: "user", email: who.email });
      expect(seen.body?.tokens.available).toBe(6);
    },
  );

  it("works with a self-managed GitLab at GITLAB_BASE_URL, apart from gitlab.com users", async () => {
    const selfManaged = oauthEnv({ GITLAB_BASE_URL: `${inject("fakes").oauth}/gitlab.internal.example` });
    const who = person({ email: undefined, emailVerified: false });
    const onPrem = await signIn("gitlab", who, { env: selfManaged });
    const onCom = await signIn("gitlab", who);
    // Same numeric user id on two GitLab instances: two different people.
    expect(onPrem.account.id).not.toBe(onCom.account.id);
    const again = await signIn("gitlab", who, { env: selfManaged });
    expect(again.account.id).toBe(onPrem.account.id);
  });

  it("sends the browser to the provider with MyBA's own state and PKCE, and back with the extension's", async () => {
    const q = await validStart();
    const start = await startWith(q);
    expect(start.status).toBe(302);
    const to = new URL(start.headers.get("Location") as string);
    expect(to.href.startsWith(`${inject("fakes").oauth}/github.com/login/oauth/authorize`)).toBe(true);
    expect(to.searchParams.get("client_id")).toBe("gh-client");
    expect(to.searchParams.get("redirect_uri")).toBe("http://localhost/auth/github/callback");
    expect(to.searchParams.get("code_challenge_method")).toBe("S256");
    expect(to.searchParams.get("state")).not.toBe(q.state);
    expect(to.searchParams.get("code_challenge")).not.toBe(q.code_challenge);

    const { landed, state } = await authorize("github", person(), {
      redirectUri: `${CHROME_REDIRECT}cb?x=1`,
    });
    expect(`${landed.origin}${landed.pathname}`).toBe(`${CHROME_REDIRECT}cb`);
    expect(landed.searchParams.get("x")).toBe("1");
    expect(landed.searchParams.get("state")).toBe(state);
    expect(landed.searchParams.get("code")).toMatch(/^mybac_/);
  });

  it("accepts Firefox's redirect URL", async () => {
    const { landed } = await authorize("google", person(), { redirectUri: FIREFOX_REDIRECT });
    expect(landed.origin).toBe(FIREFOX_REDIRECT.slice(0, -1));
    expect(landed.searchParams.get("code")).toBeTruthy();
  });

  it("the same provider identity signs in to the same user, and the welcome bonus comes once", async () => {
    const who = person();
    const first = await signIn("github", who);
    const second = await signIn("github", who);
    expect(second.account.id).toBe(first.account.id);
    expect(second.welcomeGranted).toBe(false);
    expect((await me(second.token)).body?.tokens.available).toBe(6);
  });

  it("moves the anonymous balance when the extension sends its anonymous token", async () => {
    const anon = await anonymousSession(uniqueId());
    const r = await signIn("atlassian", person(), { anonymousToken: anon.token });
    expect(r.transferred).toBe(3);
    expect(r.tokens.available).toBe(9);
    // The anonymous session is left with nothing to spend.
    expect((await me(anon.token)).body?.tokens.available).toBe(0);
  });
});

describe("account linking", () => {
  it("links a new provider to the user with the same verified email", async () => {
    const who = person();
    const gh = await signIn("github", who);
    const google = await signIn("google", { ...who, id: `g-${who.id}` });
    expect(google.account.id).toBe(gh.account.id);
    expect(google.welcomeGranted).toBe(false);
    // Both identities keep working.
    expect((await signIn("github", who)).account.id).toBe(gh.account.id);
    expect((await me(google.token)).body?.tokens.available).toBe(6);
  });

  it("never links on an unverified email (someone else could claim that address)", async () => {
    const victim = person();
    const owner = await signIn("google", victim);
    const attacker = await signIn("gitlab", { id: 777001, email: victim.email, emailVerified: false });
    expect(attacker.account.id).not.toBe(owner.account.id);
    expect(attacker.account.email).toBeUndefined();
  });

  it("uses GitHub's primary VERIFIED email only", async () => {
    const victim = person();
    const owner = await signIn("google", victim);
    const attacker = await signIn("github", {
      id: 777002,
      githubEmails: [
        { email: "attacker@example.com", primary: true, verified: false },
        { email: victim.email, primary: false, verified: true },
      ],
    });
    expect(attacker.account.id).not.toBe(owner.account.id);
    expect(attacker.account.email).toBeUndefined();
  });

  it("concurrent first sign-ins of one identity make one user and one welcome bonus", async () => {
    const who = person();
    const results = await Promise.all([1, 2, 3, 4].map(() => signIn("google", who)));
    expect(new Set(results.map((r) => r.account.id)).size).toBe(1);
    expect(results.filter((r) => r.welcomeGranted)).toHaveLength(1);
    expect((await me(results[0]?.token as string)).body?.tokens.available).toBe(6);
  });
});

describe("security: /start", () => {
  it.each([
    ["a web page", "https://evil.example/callback"],
    ["plain http", "http://ocbanhjklocoagnmjekgklfdibifkcnm.chromiumapp.org/"],
    ["a short id", "https://abc.chromiumapp.org/"],
    ["letters outside a–p", "https://zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.chromiumapp.org/"],
    ["a look-alike host", "https://ocbanhjklocoagnmjekgklfdibifkcnm.chromiumapp.org.evil.example/"],
    ["a port", "https://ocbanhjklocoagnmjekgklfdibifkcnm.chromiumapp.org:8443/"],
    ["credentials", "https://user:pw@ocbanhjklocoagnmjekgklfdibifkcnm.chromiumapp.org/"],
    ["a fragment", "https://ocbanhjklocoagnmjekgklfdibifkcnm.chromiumapp.org/#frag"],
    ["a Firefox look-alike", "https://nothex.extensions.allizom.org/"],
    ["the extension page itself", "chrome-extension://ocbanhjklocoagnmjekgklfdibifkcnm/popup.html"],
    ["javascript:", "javascript:alert(1)"],
  ])("refuses %s as redirect_uri with 400 and no redirect", async (_, redirectUri) => {
    const res = await startWith({ ...(await validStart()), redirect_uri: redirectUri });
    expect(res.status).toBe(400);
    expect(res.headers.get("Location")).toBeNull();
    expect(await res.json()).toMatchObject({
      error: { code: "invalid_request", issues: [{ path: "redirect_uri" }] },
    });
  });

  it("limits sign-in starts per address", async () => {
    const q = await validStart();
    const headers = { "CF-Connecting-IP": "192.0.2.77" };
    let passed = 0;
    let refused: Response | undefined;
    while (!refused && passed < 60) {
      const res = await call(startUrl("github", q), { headers });
      if (res.status === 302) passed++;
      else refused = res;
    }
    // 30 at once, then one every 2 s.
    expect(passed).toBeGreaterThanOrEqual(30);
    expect(passed).toBeLessThan(40);
    expect(refused?.status).toBe(429);
    expect(refused?.headers.get("Retry-After")).toBeTruthy();
  });

  it("requires state and an S256 code challenge", async () => {
    const q = await validStart();
    const noState = await startWith({ redirect_uri: q.redirect_uri, code_challenge: q.code_challenge });
    expect(noState.status).toBe(400);
    const noChallenge = await startWith({ redirect_uri: q.redirect_uri, state: q.state });
    expect(noChallenge.status).toBe(400);
    const plain = await startWith({ ...q, code_challenge_method: "plain" });
    expect(plain.status).toBe(400);
    const shortChallenge = await startWith({ ...q, code_challenge: "abc" });
    expect(shortChallenge.status).toBe(400);
  });
});

describe("security: /callback", () => {
  async function atProvider() {
    const start = await startWith(await validStart());
    const res = await fetch(start.headers.get("Location") as string, {
      headers: fakeLogin(person()),
      redirect: "manual",
    });
    return new URL(res.headers.get("Location") as string);
  }

  it("refuses a missing state with 400", async () => {
    const back = await atProvider();
    back.searchParams.delete("state");
    const res = await call(`${back.pathname}${back.search}`);
    expect(res.status).toBe(400);
    expect(res.headers.get("Location")).toBeNull();
  });

  it("refuses a state it never issued with 400", async () => {
    const back = await atProvider();
    back.searchParams.set("state", "forged-state-value");
    const res = await call(`${back.pathname}${back.search}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_request" } });
  });

  it("refuses a state used once already, or presented to another provider", async () => {
    const back = await atProvider();
    const other = await call(`/auth/google/callback${back.search}`);
    expect(other.status).toBe(400);
    const first = await call(`${back.pathname}${back.search}`);
    expect(first.status).toBe(302);
    const again = await call(`${back.pathname}${back.search}`);
    expect(again.status).toBe(400);
  });

  it("refuses an expired sign-in request", async () => {
    const back = await atProvider();
    await env.DB.prepare("UPDATE auth_requests SET expires_at = ?")
      .bind(Date.now() - 1)
      .run();
    const res = await call(`${back.pathname}${back.search}`);
    expect(res.status).toBe(400);
  });

  it("returns the provider's refusal to the extension as an OAuth error with its state", async () => {
    const { landed, state } = await authorize("github", { id: 5, deny: true });
    expect(landed.searchParams.get("error")).toBe("access_denied");
    expect(landed.searchParams.get("state")).toBe(state);
    expect(landed.searchParams.get("code")).toBeNull();
  });

  it("returns a failed code exchange to the extension as server_error", async () => {
    const { landed } = await authorize("gitlab", { ...person(), tokenError: true });
    expect(landed.searchParams.get("error")).toBe("server_error");
    expect(landed.searchParams.get("code")).toBeNull();
  });

  it("fails cleanly when the provider's credentials are wrong", async () => {
    const wrongSecret = oauthEnv({ GOOGLE_CLIENT_SECRET: "not-the-secret" });
    const { landed } = await authorize("google", person(), { env: wrongSecret });
    expect(landed.searchParams.get("error")).toBe("server_error");
  });
});

describe("security: POST /auth/token", () => {
  it("refuses a wrong PKCE verifier, and the code is then spent", async () => {
    const { landed, verifier } = await authorize("github", person());
    const code = landed.searchParams.get("code");
    const other = await pkce();
    const wrong = await postJson("/auth/token", { code, codeVerifier: other.verifier });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: { code: "invalid_request" } });
    const late = await postJson("/auth/token", { code, codeVerifier: verifier });
    expect(late.status).toBe(400);
  });

  it("refuses a reused code and revokes the session the first use issued", async () => {
    const { landed, verifier } = await authorize("google", person());
    const body = { code: landed.searchParams.get("code"), codeVerifier: verifier };
    const first = await postJson("/auth/token", body);
    expect(first.status).toBe(200);
    const { token } = await first.json<{ token: string }>();
    expect((await me(token)).status).toBe(200);

    const second = await postJson("/auth/token", body);
    expect(second.status).toBe(400);
    expect((await me(token)).status).toBe(401);
  });

  it("of two concurrent redemptions of one code, at most one session survives", async () => {
    const { landed, verifier } = await authorize("github", person());
    const body = { code: landed.searchParams.get("code"), codeVerifier: verifier };
    const answers = await Promise.all([postJson("/auth/token", body), postJson("/auth/token", body)]);
    const tokens: string[] = [];
    for (const a of answers) if (a.status === 200) tokens.push((await a.json<{ token: string }>()).token);
    expect(answers.filter((a) => a.status === 400).length).toBeGreaterThanOrEqual(1);
    for (const t of tokens) expect((await me(t)).status).toBe(401);
  });

  it("refuses an expired code", async () => {
    const { landed, verifier } = await authorize("atlassian", person());
    await env.DB.prepare("UPDATE auth_codes SET expires_at = ? WHERE used_at IS NULL")
      .bind(Date.now() - 1)
      .run();
    const res = await postJson("/auth/token", {
      code: landed.searchParams.get("code"),
      codeVerifier: verifier,
    });
    expect(res.status).toBe(400);
  });

  it("refuses an unknown code and malformed bodies with 400, never 500", async () => {
    const { verifier } = await pkce();
    const unknown = await postJson("/auth/token", { code: "mybac_nope", codeVerifier: verifier });
    expect(unknown.status).toBe(400);
    for (const body of [
      {},
      { code: "x" },
      { code: "x", codeVerifier: "short" },
      { code: 5, codeVerifier: verifier },
    ]) {
      const res = await postJson("/auth/token", body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "invalid_request" } });
    }
    const notJson = await call("/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{nope",
    });
    expect(notJson.status).toBe(400);
  });

  it("stores codes and sign-in state only as hashes", async () => {
    const { landed, callback } = await authorize("github", person());
    const code = landed.searchParams.get("code") as string;
    const providerState = callback.searchParams.get("state") as string;
    const rows = await env.DB.prepare("SELECT * FROM auth_codes").all();
    expect(JSON.stringify(rows.results)).not.toContain(code);
    const requests = await env.DB.prepare("SELECT * FROM auth_requests").all();
    expect(JSON.stringify(requests.results)).not.toContain(providerState);
  });
});
