import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { accounts } from "../../worker/db/schema";
import { newId } from "../../worker/lib/ids";
import { createSession } from "../../worker/lib/session";
import { wallet } from "../../worker/wallet/client";

async function signedIn(kind: "user" | "anonymous" = "user") {
  const id = newId("acc");
  await db(env.DB)
    .insert(accounts)
    .values({ id, kind, email: kind === "user" ? `${id}@example.test` : null, createdAt: new Date() });
  const { token } = await createSession(env, id, kind, { url: "http://localhost/" });
  return { id, token, w: wallet(env, id), auth: { Authorization: `Bearer ${token}` } };
}

async function spend(w: ReturnType<typeof wallet>, key: string, amount: number) {
  const hold = await w.reserve({ key, amount, ttlMs: 60_000 });
  if (!hold.ok) throw new Error(hold.code);
  await w.settle({
    holdId: hold.holdId,
    amount,
    description: `Ticket ${key}`,
    feature: "generate",
    generationId: `gen_${key}`,
  });
}

describe("GET /api/me", () => {
  it("answers the account and its tokens, with X-Tokens-Remaining", async () => {
    const { id, w, auth } = await signedIn();
    await w.grant({ key: "welcome", source: "welcome", amount: 6, description: "Welcome bonus" });
    await w.grant({ key: "pack", source: "purchase", amount: 50, description: "Pack" });
    await w.reserve({ key: "in-flight", amount: 2, ttlMs: 60_000 });
    await spend(w, "a", 1);

    const res = await SELF.fetch("http://w/api/me", { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Tokens-Remaining")).toBe("53");
    const body = await res.json<{ account: unknown; tokens: { grants: unknown[] } }>();
    expect(body.account).toMatchObject({ id, kind: "user", email: `${id}@example.test` });
    expect(body.tokens).toMatchObject({ available: 53, held: 2, used: 1, purchased: 50 });
    expect(body.tokens.grants).toEqual([
      { id: expect.stringMatching(/^grt_/), source: "welcome", remaining: 3 },
      { id: expect.stringMatching(/^grt_/), source: "purchase", remaining: 50 },
    ]);
  });

  it("answers 401 without a session or with a wrong one", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { Authorization: "Bearer myba_not-a-session" },
      { Authorization: "Basic x" },
    ];
    for (const headers of attempts) {
      const res = await SELF.fetch("http://w/api/me", { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: "unauthorized" } });
      expect(res.headers.get("X-Tokens-Remaining")).toBeNull();
    }
  });
});

describe("GET /api/me/transactions", () => {
  it("pages through the ledger newest first with a cursor", async () => {
    const { w, auth } = await signedIn("anonymous");
    await w.grant({ key: "free", source: "free", amount: 3, description: "Free tokens" });
    await spend(w, "one", 1);
    await spend(w, "two", 1);
    await w.grant({ key: "promo", source: "promo", amount: 5, description: "Promo LAUNCH" });

    type Page = { items: Record<string, unknown>[]; nextCursor?: string };
    const get = async (query: string) => {
      const res = await SELF.fetch(`http://w/api/me/transactions${query}`, { headers: auth });
      expect(res.status).toBe(200);
      expect(res.headers.get("X-Tokens-Remaining")).toBe("6");
      return res.json<Page>();
    };
    const first = await get("?limit=3");
    expect(first.items.map((i) => [i.type, i.amount, i.balanceAfter])).toEqual([
      ["promo", 5, 6],
      ["usage", -1, 1],
      ["usage", -1, 2],
    ]);
    expect(first.items[1]).toMatchObject({
      id: expect.stringMatching(/^txn_/),
      description: "Ticket two",
      feature: "generate",
      generationId: "gen_two",
    });
    expect(Date.parse(String(first.items[0]?.createdAt))).not.toBeNaN();
    expect(first.nextCursor).toEqual(expect.any(String));

    const second = await get(`?limit=3&cursor=${first.nextCursor}`);
    expect(second.items.map((i) => [i.type, i.amount])).toEqual([["grant", 3]]);
    expect(second.nextCursor).toBeUndefined();

    const all = await get("");
    expect(all.items).toHaveLength(4);
    expect(all.nextCursor).toBeUndefined();
  });

  it("shows only the caller's own entries", async () => {
    const alice = await signedIn();
    const bob = await signedIn();
    await alice.w.grant({ key: "g", source: "free", amount: 3, description: "Alice's" });
    const res = await SELF.fetch("http://w/api/me/transactions", { headers: bob.auth });
    expect(await res.json()).toEqual({ items: [] });
  });

  it("answers 400 invalid_request for a bad limit or cursor", async () => {
    const { auth } = await signedIn();
    for (const q of ["?limit=0", "?limit=101", "?limit=abc", "?cursor=-1", "?cursor=x"]) {
      const res = await SELF.fetch(`http://w/api/me/transactions${q}`, { headers: auth });
      expect(res.status, q).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "invalid_request" } });
    }
  });
});
