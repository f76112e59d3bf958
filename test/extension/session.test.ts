import { calculatePKCECodeChallenge } from "oauth4webapi";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fakeBrowser } from "wxt/testing/fake-browser";
import { relayGeneration } from "@/entrypoints/background/generate";
import { registerHandlers } from "@/entrypoints/background/handlers";
import { choose, loadAccount } from "@/lib/account";
import { type Api, ApiError, createApi, type GenerateRequest } from "@/lib/api";
import { asApiError, type BackgroundToPanel, removeAllListeners, sendMessage } from "@/lib/messaging";
import { SessionManager } from "@/lib/session";
import { accountItem, consentItem, sessionItem, visitorIdItem } from "@/lib/storage";
import { fakeWorker } from "./fake-worker";

const API = "http://api.test";

function setup(options: Parameters<typeof fakeWorker>[0] = {}) {
  const worker = fakeWorker(options);
  const getApi = async () => createApi({ baseUrl: API, fetch: worker.fetch });
  const session = new SessionManager(getApi);
  registerHandlers({ session, getApi });
  return { worker, session, getApi };
}

const request: GenerateRequest = {
  site: "linear",
  feature: "generate",
  issueType: "task",
  prompt: "Rate limit the export endpoint",
  context: { title: "", description: "", project: "ENG", url: "https://linear.app/acme" },
};

const paths = (worker: ReturnType<typeof fakeWorker>) => worker.calls.map((c) => `${c.method} ${c.path}`);

beforeEach(async () => {
  fakeBrowser.reset();
  // These tests start from a user who accepted the device identifier (decision 015).
  await consentItem.setValue({ choice: "accepted", at: new Date().toISOString() });
});
afterEach(() => {
  removeAllListeners();
  vi.restoreAllMocks();
});

describe("the device identifier waits for the user's choice", () => {
  it("before any choice: the view computes nothing, the background stores nothing, nothing is sent", async () => {
    await consentItem.setValue(null);
    const { worker } = setup();
    const compute = vi.fn(async () => "visitor-abc-123");

    const err = await loadAccount(true, compute).catch(asApiError);

    expect(err).toMatchObject({ code: "consent_required", details: { choice: null } });
    expect(compute).not.toHaveBeenCalled();
    // Even a view that sends an id anyway is refused, and it is not kept.
    const sent = await sendMessage("getAccount", { visitorId: "visitor-abc-123", refresh: true }).catch(
      asApiError,
    );
    expect(sent).toMatchObject({ code: "consent_required" });
    expect(await visitorIdItem.getValue()).toBeNull();
    expect(worker.calls).toHaveLength(0);
  });

  it("signing in without it: no fingerprint, a user session, and sign-out leaves the user signed out", async () => {
    await consentItem.setValue(null);
    const { worker } = setup();
    const compute = vi.fn(async () => "visitor-abc-123");
    expect(await choose("declined")).toBeNull();

    const signedIn = await sendMessage("devLogin", { email: "ada@example.com" });
    expect(signedIn.account.kind).toBe("user");
    const login = worker.calls.find((c) => c.path === "/auth/dev-login");
    expect(login?.body).toEqual({ email: "ada@example.com" });

    expect(await sendMessage("signOut", undefined)).toBeNull();
    expect(await loadAccount(true, compute).catch(asApiError)).toMatchObject({
      code: "consent_required",
      details: { choice: "declined" },
    });
    expect(compute).not.toHaveBeenCalled();
    expect(paths(worker)).not.toContain("POST /api/anonymous");
  });

  it("accepting starts the anonymous session with the free tokens", async () => {
    await consentItem.setValue(null);
    const { worker } = setup();
    const state = await choose("accepted", async () => "visitor-abc-123");
    expect(state?.account.kind).toBe("anonymous");
    expect(state?.tokens.available).toBe(3);
    expect(paths(worker)).toContain("POST /api/anonymous");
  });
});

describe("anonymous bootstrap", () => {
  it("asks the view for a visitor id first, then starts one anonymous session with it", async () => {
    const { worker } = setup();

    const first = await sendMessage("getAccount", {}).catch(asApiError);
    expect(first).toMatchObject({ code: "visitor_id_required" });
    expect(worker.calls).toHaveLength(0);

    const state = await sendMessage("getAccount", { visitorId: "visitor-abc-123", refresh: true });
    expect(state.account.kind).toBe("anonymous");
    expect(state.tokens.available).toBe(3);
    expect(worker.calls[0]).toMatchObject({
      method: "POST",
      path: "/api/anonymous",
      body: { visitorId: "visitor-abc-123" },
    });
    expect(await sessionItem.getValue()).toMatchObject({ kind: "anonymous", accountId: state.account.id });

    // The token stays in the background: the view never sees it.
    expect(JSON.stringify(state)).not.toContain("tok_");
  });

  it("starts a single session when several views ask at once", async () => {
    const { worker } = setup();
    await visitorIdItem.setValue("visitor-abc-123");
    await Promise.all([
      sendMessage("getAccount", { refresh: true }),
      sendMessage("getAccount", { refresh: true }),
      sendMessage("getAccount", { refresh: true }),
    ]);
    expect(paths(worker).filter((p) => p === "POST /api/anonymous")).toHaveLength(1);
  });

  it("serves the cached balance without a request unless asked to refresh", async () => {
    const { worker } = setup();
    await sendMessage("getAccount", { visitorId: "visitor-abc-123", refresh: true });
    const before = worker.calls.length;
    await sendMessage("getAccount", {});
    expect(worker.calls.length).toBe(before);
    await sendMessage("getAccount", { refresh: true });
    expect(worker.calls.length).toBe(before + 1);
  });
});

describe("a dead token", () => {
  it("falls back to anonymous when the signed-in session is revoked (401)", async () => {
    const { worker } = setup();
    // Signed in before this browser ever had an anonymous session: nothing moved.
    await visitorIdItem.setValue("visitor-abc-123");
    const signedIn = await sendMessage("devLogin", { email: "ada@example.com" });
    expect(signedIn.account.kind).toBe("user");

    worker.revoke(signedIn.account.id);
    const after = await sendMessage("getAccount", { refresh: true });

    expect(after.account.kind).toBe("anonymous");
    expect(await sessionItem.getValue()).toMatchObject({ kind: "anonymous" });
    expect(paths(worker).slice(-3)).toEqual(["GET /api/me", "POST /api/anonymous", "GET /api/me"]);
  });

  it("does not loop when the fresh anonymous session fails too", async () => {
    const { worker, session } = setup();
    await visitorIdItem.setValue("visitor-abc-123");
    let calls = 0;
    const result = await session
      .withToken(async () => {
        calls++;
        throw new ApiError(401, "unauthorized", "The session is invalid, expired or revoked.");
      })
      .catch(asApiError);
    expect(result.status).toBe(401);
    expect(calls).toBe(2);
    expect(paths(worker).filter((p) => p === "POST /api/anonymous")).toHaveLength(2);
  });
});

describe("sign-in", () => {
  it("dev login sends the anonymous token, then replaces it with the user's", async () => {
    const { worker } = setup();
    await sendMessage("getAccount", { visitorId: "visitor-abc-123", refresh: true });
    const anonymous = await sessionItem.getValue();

    const result = await sendMessage("devLogin", { email: "ada@example.com" });

    const login = worker.calls.find((c) => c.path === "/auth/dev-login");
    expect(login?.body).toEqual({ email: "ada@example.com", anonymousToken: anonymous?.token });
    expect(result).toMatchObject({ transferred: 3, account: { kind: "user", email: "ada@example.com" } });
    expect(result.tokens.available).toBe(9); // 6 welcome + 3 moved
    const stored = await sessionItem.getValue();
    expect(stored?.kind).toBe("user");
    expect(stored?.token).not.toBe(anonymous?.token);
    expect((await accountItem.getValue())?.account.kind).toBe("user");
  });

  it("does not send a user's token as anonymousToken when switching accounts", async () => {
    const { worker } = setup();
    await sendMessage("getAccount", { visitorId: "visitor-abc-123", refresh: true });
    await sendMessage("devLogin", { email: "ada@example.com" });
    await sendMessage("devLogin", { email: "bob@example.com" });
    const second = worker.calls.filter((c) => c.path === "/auth/dev-login")[1];
    expect(second?.body).toEqual({ email: "bob@example.com" });
  });

  it("OAuth: PKCE S256 and state through launchWebAuthFlow, then POST /auth/token with the verifier", async () => {
    const { worker } = setup();
    await sendMessage("getAccount", { visitorId: "visitor-abc-123", refresh: true });
    const anonymous = await sessionItem.getValue();
    let started: URL | null = null;
    fakeBrowser.identity.getRedirectURL = vi.fn(
      (path?: string) => `https://abc.chromiumapp.org/${path ?? ""}`,
    );
    fakeBrowser.identity.launchWebAuthFlow = vi.fn(async ({ url }: { url: string }) => {
      started = new URL(url);
      const state = started.searchParams.get("state");
      return `https://abc.chromiumapp.org/oauth?code=the-code&state=${state}`;
    }) as never;

    const result = await sendMessage("signIn", { provider: "github" });

    expect(result.account.kind).toBe("user");
    const start = started as unknown as URL;
    expect(start.origin + start.pathname).toBe(`${API}/auth/github/start`);
    expect(start.searchParams.get("redirect_uri")).toBe("https://abc.chromiumapp.org/oauth");
    expect(start.searchParams.get("state")?.length).toBeGreaterThan(20);
    const exchange = worker.calls.find((c) => c.path === "/auth/token")?.body as Record<string, string>;
    expect(exchange).toMatchObject({ code: "the-code", anonymousToken: anonymous?.token });
    // The challenge sent at the start is the S256 of the verifier sent with the code.
    expect(await calculatePKCECodeChallenge(exchange.codeVerifier as string)).toBe(
      start.searchParams.get("code_challenge"),
    );
  });

  it("refuses a redirect whose state does not match, and keeps the anonymous session", async () => {
    const { worker } = setup();
    await sendMessage("getAccount", { visitorId: "visitor-abc-123", refresh: true });
    fakeBrowser.identity.getRedirectURL = vi.fn(() => "https://abc.chromiumapp.org/oauth");
    fakeBrowser.identity.launchWebAuthFlow = vi.fn(
      async () => "https://abc.chromiumapp.org/oauth?code=stolen&state=forged",
    ) as never;

    const err = await sendMessage("signIn", { provider: "github" }).catch(asApiError);

    expect(err).toMatchObject({ code: "sign_in_failed" });
    expect(worker.calls.some((c) => c.path === "/auth/token")).toBe(false);
    expect((await sessionItem.getValue())?.kind).toBe("anonymous");
  });

  it("sign-out revokes the token and returns to an anonymous session when nothing moved", async () => {
    const { worker } = setup();
    await visitorIdItem.setValue("visitor-abc-123");
    const user = await sendMessage("devLogin", { email: "ada@example.com" });
    const token = (await sessionItem.getValue())?.token;

    const after = await sendMessage("signOut", undefined);

    const logout = worker.calls.find((c) => c.path === "/auth/logout");
    expect(logout?.headers.get("Authorization")).toBe(`Bearer ${token}`);
    expect(after?.account.kind).toBe("anonymous");
    expect(after?.account.id).not.toBe(user.account.id);
  });
});

describe("a browser whose anonymous tokens moved to an account", () => {
  const generate = async (session: SessionManager, getApi: () => Promise<Api>) => {
    const received: BackgroundToPanel[] = [];
    await relayGeneration(request, false, new AbortController().signal, { session, getApi }, (m) =>
      received.push(m),
    );
    return received;
  };
  const count = (worker: ReturnType<typeof fakeWorker>, path: string) =>
    paths(worker).filter((p) => p === path).length;

  it("after sign-out: its anonymous account again, at 0; generating says sign in; nothing loops", async () => {
    const { worker, session, getApi } = setup();
    const anon = await sendMessage("getAccount", { visitorId: "visitor-abc-123", refresh: true });
    const moved = await sendMessage("devLogin", { email: "ada@example.com" });
    expect(moved.transferred).toBe(3);

    const after = await sendMessage("signOut", undefined);
    expect(after).toMatchObject({
      account: { id: anon.account.id, kind: "anonymous" },
      tokens: { available: 0 },
    });
    expect(await sessionItem.getValue()).toMatchObject({ kind: "anonymous", accountId: anon.account.id });

    // Generating hears "sign in", once: no new session, no retry.
    const received = await generate(session, getApi);
    expect(received).toEqual([expect.objectContaining({ type: "error", charged: 0 })]);
    expect(received[0]).toMatchObject({
      error: { status: 403, code: "sign_in_required", message: expect.stringMatching(/sign in/i) },
    });
    expect(count(worker, "POST /api/generate")).toBe(1);
    for (let i = 0; i < 3; i++) {
      expect((await sendMessage("getAccount", { refresh: true })).tokens.available).toBe(0);
    }
    expect(count(worker, "POST /api/anonymous")).toBe(2);
    expect(await sessionItem.getValue()).toMatchObject({ accountId: anon.account.id });

    // Signing in again is the way back; the empty account moves nothing.
    const back = await sendMessage("devLogin", { email: "ada@example.com" });
    expect(back).toMatchObject({ account: { kind: "user" }, transferred: 0, tokens: { available: 9 } });
  });

  it("when the user's session dies (401): the same anonymous account, empty, not a new one", async () => {
    const { worker } = setup();
    const anon = await sendMessage("getAccount", { visitorId: "visitor-abc-123", refresh: true });
    const signedIn = await sendMessage("devLogin", { email: "ada@example.com" });
    worker.revoke(signedIn.account.id);

    const after = await sendMessage("getAccount", { refresh: true });

    expect(after).toMatchObject({
      account: { id: anon.account.id, kind: "anonymous" },
      tokens: { available: 0 },
    });
    expect(paths(worker).slice(-3)).toEqual(["GET /api/me", "POST /api/anonymous", "GET /api/me"]);
    await sendMessage("getAccount", { refresh: true });
    expect(count(worker, "POST /api/anonymous")).toBe(2);
  });

  it("an older Worker that refuses the visitor id (403): signed out, sign in to continue, one request per ask", async () => {
    const { worker, session, getApi } = setup({ refusesMergedVisitors: true });
    await sendMessage("getAccount", { visitorId: "visitor-abc-123", refresh: true });
    await sendMessage("devLogin", { email: "ada@example.com" });

    const after = await sendMessage("signOut", undefined);
    expect(after).toBeNull();
    expect(await sessionItem.getValue()).toBeNull();
    expect(await accountItem.getValue()).toBeNull();
    const asked = count(worker, "POST /api/anonymous");

    for (let i = 0; i < 3; i++) {
      const err = await sendMessage("getAccount", { refresh: true }).catch(asApiError);
      expect(err).toMatchObject({
        status: 403,
        code: "sign_in_required",
        message: expect.stringMatching(/sign in/i),
      });
    }
    const received = await generate(session, getApi);
    expect(received).toEqual([expect.objectContaining({ type: "error", charged: 0 })]);
    expect(received[0]).toMatchObject({ error: { code: "sign_in_required" } });
    expect(count(worker, "POST /api/anonymous")).toBe(asked + 4);
    expect(paths(worker)).not.toContain("POST /api/generate");

    // Signing in again works and sends no stale anonymous token.
    const back = await sendMessage("devLogin", { email: "ada@example.com" });
    expect(back.account.kind).toBe("user");
    expect(worker.calls.filter((c) => c.path === "/auth/dev-login").at(-1)?.body).toEqual({
      email: "ada@example.com",
    });
  });

  it("pointing the extension at another Worker starts a session there afresh", async () => {
    const { worker } = setup();
    await sendMessage("getAccount", { visitorId: "visitor-abc-123", refresh: true });
    await sendMessage("devLogin", { email: "ada@example.com" });
    const before = worker.calls.length;

    await sendMessage("setApiUrl", { apiUrl: "http://other.test" });
    await sendMessage("getAccount", { refresh: true });

    expect(paths(worker).slice(before)).toEqual(["POST /api/anonymous", "GET /api/me"]);
    expect(await sessionItem.getValue()).toMatchObject({ kind: "anonymous" });
  });
});

describe("the account carries the user's teams", () => {
  it("from GET /api/me into every view's account and the cached one the panel watches", async () => {
    const worker = fakeWorker();
    const team = {
      id: "team_0123456789",
      name: "Payments",
      role: "member",
      tokens: { available: 40 },
      limit: { monthly: 10, spent: 3, resetsAt: "2027-01-01T00:00:00.000Z" },
    };
    const withTeams: typeof worker.fetch = async (input, init) => {
      const res = await worker.fetch(input, init);
      if (!String(input).endsWith("/api/me")) return res;
      return Response.json({ ...(await res.json()), teams: [team] });
    };
    const getApi = async () => createApi({ baseUrl: API, fetch: withTeams });
    registerHandlers({ session: new SessionManager(getApi), getApi });

    const state = await sendMessage("getAccount", { visitorId: "visitor-abc-123", refresh: true });
    expect(state.teams).toEqual([team]);
    expect((await accountItem.getValue())?.teams).toEqual([team]);
  });
});
