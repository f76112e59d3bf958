import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  CANNOT_REDEEM,
  createPromoCode,
  deletePromoCode,
  listPromoCodes,
  promoCodeInput,
} from "../../worker/billing/promo";
import { db } from "../../worker/db/client";
import { REDEEM_LIMITS } from "../../worker/routes/promo";
import { availableOf, call, newAccount, tokensOf } from "./billing-helpers";

const d = () => db(env.DB);
let n = 0;
const uniqueCode = (stem: string) => `${stem}${Date.now().toString(36)}${n++}`.toUpperCase();

const redeem = (token: string, code: string) => call("/api/promo/redeem", { token, body: { code } });

describe("POST /api/promo/redeem", () => {
  it("grants the code's tokens once per account, whatever the case of the code", async () => {
    const code = uniqueCode("launch");
    await createPromoCode(d(), { code, tokens: 7 });
    const acc = await newAccount();

    const res = await redeem(acc.token, `  ${code.toLowerCase()} `);
    expect(res.status).toBe(200);
    const body = await res.json<{ granted: number; tokens: { available: number } }>();
    expect(body).toMatchObject({ granted: 7, tokens: { available: 7 } });
    expect(res.headers.get("X-Tokens-Remaining")).toBe("7");

    const twice = await redeem(acc.token, code);
    expect(twice.status).toBe(409);
    expect(await twice.json()).toMatchObject({ error: { code: "already_redeemed" } });
    expect(await availableOf(acc.id)).toBe(7);
    const history = await call("/api/me/transactions", { token: acc.token });
    const items = (await history.json<{ items: { type: string; amount: number }[] }>()).items;
    expect(items.filter((i) => i.type === "promo")).toEqual([expect.objectContaining({ amount: 7 })]);
  });

  it("grants once when one account redeems concurrently", async () => {
    const code = uniqueCode("race");
    await createPromoCode(d(), { code, tokens: 4 });
    const acc = await newAccount();
    const results = await Promise.all(Array.from({ length: 6 }, () => redeem(acc.token, code)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(5);
    expect(await availableOf(acc.id)).toBe(4);
  });

  it("stops at max redemptions, also under concurrent redemptions by many accounts", async () => {
    const code = uniqueCode("few");
    await createPromoCode(d(), { code, tokens: 3, maxRedemptions: 2 });
    const accounts = await Promise.all(Array.from({ length: 6 }, () => newAccount()));
    const results = await Promise.all(accounts.map((a) => redeem(a.token, code)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(2);
    const refused = results.filter((r) => r.status === 400);
    expect(refused).toHaveLength(4);
    expect(await refused[0]?.json()).toMatchObject({
      error: { code: "invalid_request", message: CANNOT_REDEEM },
    });
    const balances = await Promise.all(accounts.map((a) => tokensOf(a.id)));
    expect(balances.reduce((s, t) => s + t.available, 0)).toBe(6);
    const listed = (await listPromoCodes(d())).find((p) => p.code === code);
    expect(listed).toMatchObject({ redemptions: 2, maxRedemptions: 2, tokens: 3 });
  });

  it("gives one answer for unknown, deleted, expired and used-up codes, so guessing learns nothing", async () => {
    const expired = uniqueCode("old");
    await createPromoCode(d(), {
      code: expired,
      tokens: 5,
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    const used = uniqueCode("used");
    await createPromoCode(d(), { code: used, tokens: 5, maxRedemptions: 1 });
    expect((await redeem((await newAccount()).token, used)).status).toBe(200);
    const deleted = uniqueCode("gone");
    await createPromoCode(d(), { code: deleted, tokens: 2 });
    await deletePromoCode(d(), deleted.toLowerCase());

    const acc = await newAccount();
    const answers = [];
    for (const code of ["NO-SUCH-CODE", deleted, expired, used]) {
      const res = await redeem(acc.token, code);
      answers.push({
        status: res.status,
        body: await res.json<{ error: { code: string; message: string } }>(),
      });
    }
    const [first, ...rest] = answers;
    expect(first).toMatchObject({
      status: 400,
      body: { error: { code: "invalid_request", message: CANNOT_REDEEM } },
    });
    for (const other of rest)
      expect({ status: other.status, error: other.body.error }).toEqual({
        status: first?.status,
        error: first?.body.error,
      });
    expect(await availableOf(acc.id)).toBe(0);
  });

  it("limits attempts per account and per address, good codes or bad", { timeout: 30_000 }, async () => {
    const acc = await newAccount();
    const statuses = [];
    for (let i = 0; i <= REDEEM_LIMITS.perAccount; i++)
      statuses.push((await redeem(acc.token, `GUESS-${i}`)).status);
    expect(statuses.slice(0, REDEEM_LIMITS.perAccount).every((s) => s === 400)).toBe(true);
    const limited = await redeem(acc.token, "GUESS-LAST");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toMatch(/^\d+$/);
    // A real code is refused too while the account is limited, and grants nothing.
    const code = uniqueCode("late");
    await createPromoCode(d(), { code, tokens: 3 });
    expect((await redeem(acc.token, code)).status).toBe(429);
    expect(await availableOf(acc.id)).toBe(0);

    // Many fresh accounts from one address share its limit.
    const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    const fromIp = (token: string, c: string) =>
      call("/api/promo/redeem", { token, body: { code: c }, headers: { "CF-Connecting-IP": ip } });
    const accounts = await Promise.all(Array.from({ length: 4 }, () => newAccount()));
    let refused = 0;
    for (let i = 0; i < REDEEM_LIMITS.perAddress + 2; i++) {
      const who = accounts[i % accounts.length];
      if (who && (await fromIp(who.token, `IPGUESS-${i}`)).status === 429) refused++;
    }
    expect(refused).toBe(2);
  });

  it("is for signed-in, active accounts only", async () => {
    const code = uniqueCode("who");
    await createPromoCode(d(), { code, tokens: 2 });
    const anon = await newAccount({ kind: "anonymous" });
    const a = await redeem(anon.token, code);
    expect(a.status).toBe(403);
    expect(await a.json()).toMatchObject({ error: { code: "sign_in_required" } });
    const blocked = await newAccount({ blocked: true });
    const b = await redeem(blocked.token, code);
    expect(b.status).toBe(403);
    expect(await b.json()).toMatchObject({ error: { code: "forbidden" } });
    expect((await call("/api/promo/redeem", { body: { code } })).status).toBe(401);
    expect((await redeem((await newAccount()).token, "")).status).toBe(400);
    expect((await availableOf(anon.id)) + (await availableOf(blocked.id))).toBe(0);
  });

  it("heals a redemption whose grant was cut by a crash on the next attempt", async () => {
    const code = uniqueCode("crash");
    await createPromoCode(d(), { code, tokens: 6 });
    const acc = await newAccount();
    // The redemption row committed, then the Worker died before the wallet grant.
    await env.DB.prepare(
      "INSERT INTO promo_redemptions (code, account_id, tokens, created_at) VALUES (?, ?, 6, ?)",
    )
      .bind(code, acc.id, Date.now())
      .run();
    const res = await redeem(acc.token, code);
    expect(res.status).toBe(409);
    expect(await availableOf(acc.id)).toBe(6);
    await redeem(acc.token, code);
    expect(await availableOf(acc.id)).toBe(6);
  });
});

describe("promo code administration", () => {
  it("creates, lists with redemption counts, and deletes codes", async () => {
    const code = uniqueCode("admin");
    const created = await createPromoCode(d(), {
      code: code.toLowerCase(),
      tokens: 9,
      maxRedemptions: 10,
      expiresAt: "2030-01-01T00:00:00Z",
    });
    expect(created).toMatchObject({
      code,
      tokens: 9,
      maxRedemptions: 10,
      expiresAt: "2030-01-01T00:00:00.000Z",
      redemptions: 0,
    });
    await expect(createPromoCode(d(), { code, tokens: 1 })).rejects.toMatchObject({ status: 400 });

    const acc = await newAccount();
    await redeem(acc.token, code);
    expect((await listPromoCodes(d())).find((p) => p.code === code)?.redemptions).toBe(1);

    expect(await deletePromoCode(d(), code)).toMatchObject({ code, redemptions: 1 });
    expect((await listPromoCodes(d())).find((p) => p.code === code)).toBeUndefined();
    await expect(deletePromoCode(d(), code)).rejects.toMatchObject({ status: 404 });
    // Tokens already granted stay.
    expect(await availableOf(acc.id)).toBe(9);
  });

  it("validates new codes", () => {
    expect(promoCodeInput.safeParse({ code: "ok-code", tokens: 0 }).success).toBe(false);
    expect(promoCodeInput.safeParse({ code: "a b", tokens: 5 }).success).toBe(false);
    expect(promoCodeInput.safeParse({ code: "fine_1", tokens: 5, expiresAt: "soon" }).success).toBe(false);
    expect(promoCodeInput.parse({ code: "fine_1", tokens: 5 }).code).toBe("FINE_1");
  });
});
