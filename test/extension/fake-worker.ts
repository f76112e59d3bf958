import type { Fetch } from "@/lib/api";

/**
 * An in-memory stand-in for the Worker, answering the contract's routes
 * (docs/api.md) the way the real one does, with a log of every request so tests
 * can assert what the extension sent. Injected as the API client's fetch.
 */
export interface Call {
  method: string;
  path: string;
  headers: Headers;
  body: unknown;
}

interface FakeAccount {
  id: string;
  kind: "anonymous" | "user";
  email?: string;
  available: number;
  /** An anonymous account whose tokens moved to this user at sign-in. */
  mergedInto?: string;
}

/**
 * `refusesMergedVisitors` plays a Worker from before the merged-visitor change: a visitor
 * id whose tokens moved gets 403 `sign_in_required` from /api/anonymous, and
 * the moved account's sessions die at sign-in.
 */
export function fakeWorker({ refusesMergedVisitors = false } = {}) {
  const calls: Call[] = [];
  const accounts = new Map<string, FakeAccount>();
  const sessions = new Map<string, string>(); // token → account id
  const byVisitor = new Map<string, string>();
  let seq = 0;
  /** Replaces POST /api/generate's answer. */
  let generate: (call: Call, signal: AbortSignal | undefined) => Response | Promise<Response> = () =>
    sse([
      ["start", { generationId: "gen_1", held: 1 }],
      ["delta", { text: "Title: Fix login\n\n" }],
      ["delta", { text: "## Summary\n\nIt fails." }],
      [
        "done",
        {
          generationId: "gen_1",
          title: "Fix login",
          description: "## Summary\n\nIt fails.",
          charged: 1,
          tokens: { available: 2, held: 0 },
        },
      ],
    ]);

  const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "Content-Type": "application/json", ...headers },
    });
  const error = (status: number, code: string, message: string, extra: object = {}) =>
    json({ error: { code, message, ...extra } }, status);
  const me = (acc: FakeAccount) => ({
    account: { id: acc.id, kind: acc.kind, ...(acc.email ? { email: acc.email } : {}) },
    tokens: { available: acc.available, held: 0, grants: [] },
  });
  const issue = (acc: FakeAccount) => {
    const token = `tok_${++seq}`;
    sessions.set(token, acc.id);
    return token;
  };
  const authed = (call: Call) => {
    const token = /^Bearer (.+)$/.exec(call.headers.get("Authorization") ?? "")?.[1];
    const id = token ? sessions.get(token) : undefined;
    return id ? accounts.get(id) : undefined;
  };

  const fetch: Fetch = async (input, init = {}) => {
    const url = new URL(input);
    const headers = new Headers(init.headers);
    const body = typeof init.body === "string" && init.body ? JSON.parse(init.body) : undefined;
    const call: Call = { method: init.method ?? "GET", path: url.pathname + url.search, headers, body };
    calls.push(call);
    const route = `${call.method} ${url.pathname}`;
    switch (route) {
      case "POST /api/anonymous": {
        const visitorId = (body as { visitorId: string }).visitorId;
        let id = byVisitor.get(visitorId);
        const created = !id;
        if (!id) {
          id = `acc_anon_${++seq}`;
          accounts.set(id, { id, kind: "anonymous", available: 3 });
          byVisitor.set(visitorId, id);
        }
        const acc = accounts.get(id) as FakeAccount;
        if (acc.mergedInto && refusesMergedVisitors) {
          return error(
            403,
            "sign_in_required",
            "This browser's free tokens already moved to a signed-in account. Sign in to continue.",
          );
        }
        return json({ token: issue(acc), ...me(acc), created });
      }
      case "GET /api/me": {
        const acc = authed(call);
        return acc
          ? json(me(acc))
          : error(401, "unauthorized", "The session is invalid, expired or revoked.");
      }
      case "POST /auth/dev-login":
      case "POST /auth/token": {
        const { email = "oauth@example.com", anonymousToken } = body as {
          email?: string;
          anonymousToken?: string;
        };
        const id = `acc_user_${email}`;
        if (!accounts.has(id)) accounts.set(id, { id, kind: "user", email, available: 6 });
        const user = accounts.get(id) as FakeAccount;
        let transferred = 0;
        const anonId = anonymousToken ? sessions.get(anonymousToken) : undefined;
        const anon = anonId ? accounts.get(anonId) : undefined;
        if (anon && anon.kind === "anonymous" && !anon.mergedInto) {
          transferred = anon.available;
          user.available += anon.available;
          anon.available = 0;
          // A merged account can still read, but not spend (an older Worker killed its sessions).
          anon.mergedInto = user.id;
          if (refusesMergedVisitors) {
            for (const [token, owner] of sessions) if (owner === anon.id) sessions.delete(token);
          }
        }
        return json({ token: issue(user), ...me(user), transferred, welcomeGranted: true });
      }
      case "POST /auth/logout": {
        const token = /^Bearer (.+)$/.exec(headers.get("Authorization") ?? "")?.[1];
        if (token) sessions.delete(token);
        return json({ revoked: true });
      }
      case "POST /api/generate": {
        const acc = authed(call);
        if (!acc) return error(401, "unauthorized", "The session is invalid, expired or revoked.");
        if (acc.mergedInto) {
          return error(
            403,
            "sign_in_required",
            "This browser's tokens moved to your signed-in account. Sign in to continue.",
          );
        }
        return generate(call, init.signal ?? undefined);
      }
    }
    return error(404, "not_found", `No route for ${route}.`);
  };

  return {
    fetch,
    calls,
    accounts,
    /** Revokes every session of an account, as an expiry or `POST /auth/logout` elsewhere would. */
    revoke(accountId: string) {
      for (const [token, id] of sessions) if (id === accountId) sessions.delete(token);
    },
    onGenerate(handler: typeof generate) {
      generate = handler;
    },
  };
}

/** An SSE response in the Worker's wire format (`event:` + `data:` lines). */
export function sse(events: [string, object][], { keepOpen = false } = {}): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const [event, data] of events) {
        controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      }
      if (!keepOpen) controller.close();
    },
  });
  return new Response(body, { headers: { "Content-Type": "text/event-stream; charset=utf-8" } });
}
