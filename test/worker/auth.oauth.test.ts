import { describe, expect, it } from "vitest";
import { me, signIn } from "./auth-helpers";

describe("smoke", () => {
  it("signs in with GitHub", async () => {
    const r = await signIn("github", { id: 1, email: "a@example.com", emailVerified: true, name: "A" });
    expect(r.welcomeGranted).toBe(true);
    expect((await me(r.token)).body?.tokens.available).toBe(6);
  });
});
