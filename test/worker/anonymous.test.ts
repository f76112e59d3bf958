import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DEFAULT_ANON_ACCOUNTS_PER_IP_PER_DAY } from "../../worker/auth/anonymous";
import { anonymousSession, devLogin, me, postJson, uniqueId } from "./auth-helpers";

const CAP = DEFAULT_ANON_ACCOUNTS_PER_IP_PER_DAY;
let ipCounter = 1;
/** A fresh client address per test, so per-IP caps do not leak between tests. */
const freshIp = () => `203.0.113.${ipCounter++}`;

function post(visitorId: unknown, ip: string) {
  return postJson("/api/anonymous", { visitorId }, { "CF-Connecting-IP": ip });
}

describe("POST /api/anonymous", () => {
  it("creates an anonymous account with 3 free tokens for a new visitor id", async () => {
    const res = await post(uniqueId(), freshIp());
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Tokens-Remaining")).toBe("3");
    const body = await res.json<{
      token: string;
      account: { id: string };
      tokens: object;
      created: boolean;
    }>();
    expect(body).toMatchObject({
      account: { kind: "anonymous" },
      tokens: { available: 3, held: 0 },
      created: true,
    });
    expect(body.account.id).toMatch(/^acc_/);
    const seen = await me(body.token);
    expect(seen.body).toMatchObject({
      account: { id: body.account.id, kind: "anonymous" },
      tokens: { available: 3 },
    });
  });

  it("the same visitor id again: a new session for the same account, nothing granted", async () => {
    const visitorId = uniqueId();
    const ip = freshIp();
    const first = await anonymousSession(visitorId, ip);
    const second = await anonymousSession(visitorId, ip);
    expect(second.created).toBe(false);
    expect(second.account.id).toBe(first.account.id);
    expect(second.token).not.toBe(first.token);
    expect(second.tokens.available).toBe(3);
    // Both sessions are live and see one balance.
    expect((await me(first.token)).body?.tokens.available).toBe(3);
    expect((await me(second.token)).body?.tokens.available).toBe(3);
  });

  it("farming: the same visitor id 50 times, some at once, grants once", async () => {
    const visitorId = uniqueId();
    const ip = freshIp();
    const results = [];
    for (let i = 0; i < 25; i++) results.push(await anonymousSession(visitorId, ip));
    results.push(...(await Promise.all(Array.from({ length: 25 }, () => anonymousSession(visitorId, ip)))));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.account.id)).size).toBe(1);
    const seen = await me(results[49]?.token as string);
    expect(seen.body?.tokens.available).toBe(3);
    expect(seen.body?.tokens.grants).toHaveLength(1);
  });

  it("concurrent first calls for one visitor id make one account and one grant", async () => {
    const visitorId = uniqueId();
    const ip = freshIp();
    const results = await Promise.all(Array.from({ length: 12 }, () => anonymousSession(visitorId, ip)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.account.id)).size).toBe(1);
    expect((await me(results[0]?.token as string)).body?.tokens.available).toBe(3);
    const accounts = await env.DB.prepare("SELECT count(*) AS n FROM accounts WHERE visitor_id = ?")
      .bind(visitorId)
      .first<{ n: number }>();
    expect(accounts?.n).toBe(1);
  });

  it(`farming: new visitor ids from one IP are capped at ${CAP} a day with 429 and Retry-After`, async () => {
    const ip = freshIp();
    const visitors = Array.from({ length: CAP }, () => uniqueId());
    const made = [];
    for (const v of visitors) made.push(await anonymousSession(v, ip));
    expect(made.every((m) => m.created)).toBe(true);

    const refused = await post(uniqueId(), ip);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(23 * 3600);
    expect(retryAfter).toBeLessThanOrEqual(24 * 3600);
    expect(await refused.json()).toMatchObject({ error: { code: "rate_limited" } });

    // A returning visitor from that IP still gets a session; another IP is not affected.
    const returning = await post(visitors[0], ip);
    expect(returning.status).toBe(200);
    expect((await post(uniqueId(), freshIp())).status).toBe(200);
  });

  it("a visitor id whose tokens moved to a user: its own empty account, even past the cap, nothing granted", async () => {
    const ip = freshIp();
    const moved = uniqueId();
    const anon = await anonymousSession(moved, ip);
    expect((await devLogin(`${uniqueId("m")}@example.com`, anon.token)).transferred).toBe(3);
    for (let i = 1; i < CAP; i++) await anonymousSession(uniqueId(), ip);
    expect((await post(uniqueId(), ip)).status).toBe(429);

    const [a, b] = await Promise.all([post(moved, ip), post(moved, ip)]);
    for (const res of [a, b]) {
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        account: { id: anon.account.id, kind: "anonymous" },
        tokens: { available: 0, held: 0 },
        created: false,
      });
    }
    expect((await me(anon.token)).body?.tokens.available).toBe(0);
  });

  it("farming: a burst of new visitor ids from one IP cannot slip past the cap", async () => {
    const ip = freshIp();
    const answers = await Promise.all(Array.from({ length: CAP + 8 }, () => post(uniqueId(), ip)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(CAP);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(8);
  });

  it("the cap counts only the last 24 hours", async () => {
    const ip = freshIp();
    for (let i = 0; i < CAP; i++) await anonymousSession(uniqueId(), ip);
    expect((await post(uniqueId(), ip)).status).toBe(429);
    await env.DB.prepare("UPDATE accounts SET created_at = created_at - ? WHERE created_ip = ?")
      .bind(24 * 60 * 60 * 1000 + 1, ip)
      .run();
    expect((await post(uniqueId(), ip)).status).toBe(200);
  });

  it("limits calls per address per minute, since every call stores a session", async () => {
    const ip = freshIp();
    const visitorId = uniqueId();
    // 60 at once, then about one a second (GCRA): the loop's own pace lets a few more through.
    let passed = 0;
    let refused: Response | undefined;
    while (!refused && passed < 100) {
      const res = await post(visitorId, ip);
      if (res.status === 200) passed++;
      else refused = res;
    }
    expect(passed).toBeGreaterThanOrEqual(60);
    expect(passed).toBeLessThan(80);
    if (!refused) throw new Error("never limited");
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeLessThanOrEqual(60);
    expect((await post(visitorId, freshIp())).status).toBe(200);
  });

  it("refuses a missing or malformed visitor id with 400 and creates nothing", async () => {
    const before = await countAccounts();
    for (const visitorId of [
      undefined,
      "",
      "short",
      12345678,
      "has spaces in it",
      "x".repeat(129),
      "<script>alert</script>",
    ]) {
      const res = await post(visitorId, freshIp());
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        error: {
          code: "invalid_request",
          issues: expect.arrayContaining([expect.objectContaining({ path: "visitorId" })]),
        },
      });
    }
    const notJson = await postJson("/api/anonymous", undefined);
    expect(notJson.status).toBe(400);
    expect(await countAccounts()).toBe(before);
  });
});

async function countAccounts(): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM accounts").first<{ n: number }>())?.n ?? 0;
}
