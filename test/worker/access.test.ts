import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DEFAULT_ANON_ACCOUNTS_PER_IP_PER_DAY } from "../../worker/auth/anonymous";
import { DEFAULT_WELCOME_ACCOUNTS_PER_IP_PER_DAY } from "../../worker/auth/signin";
import { addressKey } from "../../worker/lib/rate-limit";
import { CHROME_REDIRECT, FIREFOX_REDIRECT, oauthEnv, pkce, startUrl, uniqueId } from "./auth-helpers";

/** Issue 12's access points (decision 009), each through the Worker's own fetch. */
function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return SELF.fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

describe("development conveniences only on a loopback host", () => {
  it("dev login answers 404 off loopback, even with AUTH_DEV_LOGIN=true, and creates nobody", async () => {
    expect(env.AUTH_DEV_LOGIN).toBe("true");
    const email = `${uniqueId("prod")}@example.test`;
    for (const host of ["https://api.myba.example", "http://10.0.0.7:8787", "http://127.0.0.1.nip.io"]) {
      const res = await post(`${host}/auth/dev-login`, { email });
      expect(res.status, host).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
    }
    const n = await env.DB.prepare("SELECT count(*) AS n FROM accounts WHERE email = ?")
      .bind(email)
      .first<{ n: number }>();
    expect(n?.n).toBe(0);
    for (const host of ["http://127.0.0.1:8787", "http://localhost", "http://[::1]:8787"]) {
      expect(
        (await post(`${host}/auth/dev-login`, { email: `${uniqueId("dev")}@example.test` })).status,
      ).toBe(200);
    }
  });

  it("/__dev/* answers 404 off loopback and grants nothing", async () => {
    const id = `acc_devprobe${crypto.randomUUID().replaceAll("-", "")}`;
    const res = await post(`https://api.myba.example/__dev/wallets/${id}/grant`, { amount: 1000 });
    expect(res.status).toBe(404);
    expect((await SELF.fetch("https://api.myba.example/__dev/reconcile")).status).toBe(404);
    const stats = await SELF.fetch(`http://127.0.0.1/__dev/wallets/${id}/stats`);
    expect(((await stats.json()) as { tokens: { available: number } }).tokens.available).toBe(0);
  });
});

describe("IPv6 clients count by their /64", () => {
  it("normalizes addresses to one key per /64", () => {
    expect(addressKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:0DB8:0001:0002::1")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressKey("::ffff:203.0.113.9")).toBe("203.0.113.9");
    expect(addressKey("203.0.113.9")).toBe("203.0.113.9");
  });

  it("new anonymous accounts from one /64 share the daily cap", async () => {
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:7`;
    const statuses: number[] = [];
    for (let i = 0; i <= DEFAULT_ANON_ACCOUNTS_PER_IP_PER_DAY; i++) {
      const res = await post(
        "http://localhost/api/anonymous",
        { visitorId: uniqueId() },
        // Every request from another address of the same /64.
        { "CF-Connecting-IP": `${prefix}:${(i + 1).toString(16)}:0:0:1` },
      );
      statuses.push(res.status);
    }
    expect(statuses.slice(0, -1).every((s) => s === 200)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  });
});

describe("the welcome bonus per address per day", () => {
  it("goes to at most WELCOME_ACCOUNTS_PER_IP_PER_DAY new users from one address", async () => {
    const ip = `192.0.2.${1 + Math.floor(Math.random() * 250)}`;
    await env.DB.prepare("UPDATE accounts SET welcome_ip = NULL WHERE welcome_ip = ?").bind(ip).run();
    const results: { welcomeGranted: boolean; tokens: { available: number } }[] = [];
    for (let i = 0; i <= DEFAULT_WELCOME_ACCOUNTS_PER_IP_PER_DAY; i++) {
      const res = await post(
        "http://localhost/auth/dev-login",
        { email: `${uniqueId("farm")}@example.test` },
        { "CF-Connecting-IP": ip },
      );
      expect(res.status).toBe(200);
      results.push(await res.json());
    }
    expect(results.filter((r) => r.welcomeGranted)).toHaveLength(DEFAULT_WELCOME_ACCOUNTS_PER_IP_PER_DAY);
    expect(results.at(-1)).toMatchObject({ welcomeGranted: false, tokens: { available: 0 } });
  });

  it("a user refused by the cap gets it on a later sign-in from an address under the cap, once", async () => {
    const ip = `192.0.2.${1 + Math.floor(Math.random() * 250)}`;
    for (let i = 0; i < DEFAULT_WELCOME_ACCOUNTS_PER_IP_PER_DAY; i++) {
      await post(
        "http://localhost/auth/dev-login",
        { email: `${uniqueId("fill")}@example.test` },
        { "CF-Connecting-IP": ip },
      );
    }
    const email = `${uniqueId("late")}@example.test`;
    const refused = await (
      await post("http://localhost/auth/dev-login", { email }, { "CF-Connecting-IP": ip })
    ).json();
    expect(refused).toMatchObject({ welcomeGranted: false });
    const elsewhere = {
      "CF-Connecting-IP": `2001:db8:feed:${Math.floor(Math.random() * 0xffff).toString(16)}::1`,
    };
    const later = await (await post("http://localhost/auth/dev-login", { email }, elsewhere)).json();
    expect(later).toMatchObject({ welcomeGranted: true, tokens: { available: 6 } });
    const again = await (await post("http://localhost/auth/dev-login", { email }, elsewhere)).json();
    expect(again).toMatchObject({ welcomeGranted: false, tokens: { available: 6 } });
  });
});

describe("sign-in returns only to the deployment's extensions", () => {
  async function start(redirectUri: string, e = oauthEnv()) {
    const { challenge } = await pkce();
    const { app } = await import("../../worker/app");
    return app.request(
      startUrl("github", { redirect_uri: redirectUri, state: "s", code_challenge: challenge }),
      {},
      e,
    );
  }

  it("accepts the Chrome id of ALLOWED_ORIGINS and ids named in AUTH_REDIRECT_IDS", async () => {
    expect((await start(CHROME_REDIRECT)).status).toBe(302);
    expect((await start(FIREFOX_REDIRECT)).status).toBe(302);
  });

  it("refuses any other well-formed extension id with 400", async () => {
    const other = `https://${"p".repeat(32)}.chromiumapp.org/`;
    const res = await start(other);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { code: "invalid_request", issues: [{ path: "redirect_uri" }] },
    });
    const otherFirefox = `https://${"f".repeat(40)}.extensions.allizom.org/`;
    expect((await start(otherFirefox)).status).toBe(400);
    // Without AUTH_REDIRECT_IDS only ALLOWED_ORIGINS' Chrome id is ours.
    expect((await start(FIREFOX_REDIRECT, oauthEnv({ AUTH_REDIRECT_IDS: "" }))).status).toBe(400);
    expect((await start(CHROME_REDIRECT, oauthEnv({ AUTH_REDIRECT_IDS: "" }))).status).toBe(302);
  });
});
