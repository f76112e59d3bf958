import { SELF } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";

const ORIGIN = "chrome-extension://ocbanhjklocoagnmjekgklfdibifkcnm";

describe("GET /api/health", () => {
  it("reports mock AI and demo billing without keys, with a request id", async () => {
    const res = await SELF.fetch("http://localhost/api/health");
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Request-Id")).toMatch(/^[\w-]{8,}$/);
    const body = await res.json<Record<string, unknown>>();
    expect(body).toMatchObject({ status: "ok", ai: "mock", billing: "demo" });
    expect(Date.parse(String(body.time))).not.toBeNaN();
  });
});

describe("bad input gets the contract's error body", () => {
  it("answers an unknown route with 404 not_found", async () => {
    const res = await SELF.fetch("http://w/api/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
    expect(res.headers.get("X-Request-Id")).toBeTruthy();
  });

  it("answers a wrong method with 405 and Allow", async () => {
    const res = await SELF.fetch("http://w/api/health", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("Allow")).toBe("GET");
    expect(await res.json()).toMatchObject({ error: { code: "method_not_allowed" } });
  });

  it("refuses an oversized body with 413 before reading it all", async () => {
    const res = await SELF.fetch("http://w/api/health", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ pad: "x".repeat(70 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: "payload_too_large" } });
  });

  it("echoes a client's request id only when it is well formed", async () => {
    const ok = await SELF.fetch("http://w/api/health", { headers: { "X-Request-Id": "client-id-123" } });
    expect(ok.headers.get("X-Request-Id")).toBe("client-id-123");
    const bad = await SELF.fetch("http://w/api/health", { headers: { "X-Request-Id": "<script>" } });
    expect(bad.headers.get("X-Request-Id")).not.toBe("<script>");
  });
});

describe("CORS", () => {
  it("allows the extension's origin", async () => {
    const res = await SELF.fetch("http://w/api/health", {
      method: "OPTIONS",
      headers: { Origin: ORIGIN, "Access-Control-Request-Method": "POST" },
    });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(ORIGIN);
  });

  it("gives no CORS grant to any other origin", async () => {
    const res = await SELF.fetch("http://w/api/health", { headers: { Origin: "https://evil.example" } });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});

describe("sessions", () => {
  it("refuses /api/me without a token and with a forged one", async () => {
    const none = await SELF.fetch("http://w/api/me");
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { code: "unauthorized" } });
    const forged = await SELF.fetch("http://w/api/me", { headers: { Authorization: "Bearer myba_forged" } });
    expect(forged.status).toBe(401);
  });
});

describe("test harness", () => {
  it("reaches fake services on loopback from inside workerd", async () => {
    const res = await fetch(`${inject("fakes").echo}/ping`);
    expect(await res.json()).toEqual({ method: "GET", url: "/ping" });
  });
});
