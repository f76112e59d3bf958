import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("GET /privacy", () => {
  it("is a plain HTML page naming what leaves the browser, the device identifier, the third parties and retention", async () => {
    const res = await SELF.fetch("http://w/privacy");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    // No script can run on it.
    expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    const page = await res.text();
    expect(page).not.toMatch(/<script/i);
    for (const section of ["what-leaves", "device-identifier", "third-parties", "retention"]) {
      expect(page).toContain(`id="${section}"`);
    }
    expect(page).toContain("OpenRouter");
    expect(page).toContain("Stripe");
    expect(page).toMatch(/after 30 days without use/);
    // This server runs the mock: the page says nothing goes to OpenRouter from it.
    expect(page).toContain("Demo AI");
  });

  it("answers only GET", async () => {
    const res = await SELF.fetch("http://w/privacy", { method: "POST" });
    expect(res.status).toBe(405);
  });
});
