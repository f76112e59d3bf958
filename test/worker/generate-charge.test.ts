import { describe, expect, it } from "vitest";
import type { FeaturePrice } from "../../worker/billing/pricing";
import { chargeFor } from "../../worker/routes/generate/charge";

const flat: FeaturePrice = { baseCost: 2, usageOutputTokensPerToken: null, usageMaxCost: 0, plans: null };
const metered: FeaturePrice = { baseCost: 1, usageOutputTokensPerToken: 100, usageMaxCost: 5, plans: null };
const usage = (outputTokens: number) => ({ inputTokens: 400, outputTokens });
const ticket = "Title: Fix the export\n\nThe CSV export drops the last row.";

describe("chargeFor, the charging rule", () => {
  it("charges a completed answer its price, by the tokens the model reported", () => {
    expect(
      chargeFor(flat, { ending: "completed", output: ticket, delivered: ticket, usage: usage(300) }),
    ).toBe(2);
    expect(
      chargeFor(metered, { ending: "completed", output: ticket, delivered: ticket, usage: usage(340) }),
    ).toBe(4);
    // The usage part is capped.
    expect(
      chargeFor(metered, { ending: "completed", output: ticket, delivered: ticket, usage: usage(90_000) }),
    ).toBe(6);
  });

  it("estimates the tokens at four characters each when the model reported none", () => {
    const output = "x".repeat(800);
    expect(chargeFor(metered, { ending: "completed", output, delivered: output, usage: null })).toBe(3);
  });

  it("charges a failed run nothing, whatever it streamed", () => {
    expect(chargeFor(flat, { ending: "failed", output: ticket, delivered: ticket, usage: usage(300) })).toBe(
      0,
    );
  });

  it("charges a client that left for what it received, and nothing before the first text", () => {
    expect(chargeFor(flat, { ending: "client_closed", output: ticket, delivered: "", usage: null })).toBe(0);
    expect(
      chargeFor(flat, { ending: "client_closed", output: ticket, delivered: "Title: Fix", usage: null }),
    ).toBe(2);
    const delivered = "y".repeat(400);
    // The model's count is for all of its output, so it is used only when all of it was delivered.
    expect(
      chargeFor(metered, {
        ending: "client_closed",
        output: `${delivered}more`,
        delivered,
        usage: usage(9000),
      }),
    ).toBe(2);
    expect(
      chargeFor(metered, { ending: "client_closed", output: delivered, delivered, usage: usage(340) }),
    ).toBe(4);
  });
});

describe("chargeFor, blank output", () => {
  it("charges nothing for an empty or whitespace-only answer, delivered or not", () => {
    expect(
      chargeFor(flat, { ending: "completed", output: " \n\n ", delivered: " \n\n ", usage: usage(3) }),
    ).toBe(0);
    expect(chargeFor(flat, { ending: "client_closed", output: "\n\n", delivered: "\n\n", usage: null })).toBe(
      0,
    );
  });
});
