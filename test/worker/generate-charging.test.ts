import { describe, expect, it } from "vitest";
import {
  balance,
  fundedAccount,
  generate,
  generationRows,
  ledger,
  parseSse,
  ticketBody,
  upstream,
} from "./generate-helpers";

/** Streams one generation from the fake answering `model`; the final event, the balance and the record. */
async function generateWith(model: string) {
  const a = await fundedAccount(3);
  const up = upstream(model);
  const { res, settled } = await generate(up.env, a.token, ticketBody(), { sse: true });
  expect(res.status).toBe(200);
  const events = parseSse(await res.text());
  await settled();
  const delivered = events
    .filter((e) => e.event === "delta")
    .map((e) => String(e.data.text))
    .join("");
  const [row] = await generationRows(a.id);
  return { final: events.at(-1), delivered, available: (await balance(a.id)).available, row, a };
}

describe("text that was delivered is paid for", () => {
  it("charges an answer with a code fence opening every line, and still gives a ticket", async () => {
    const { final, delivered, available, row } = await generateWith("fake/fenced");
    expect(delivered).toMatch(/^```Title: Fix the login/);
    expect(final).toMatchObject({
      event: "done",
      data: { title: "Fix the login redirect loop on Safari", charged: 1 },
    });
    expect(String(final?.data.description)).toMatch(/^## Steps to reproduce/);
    expect(String(final?.data.description)).not.toContain("```");
    expect(available).toBe(2);
    expect(row).toMatchObject({ status: "succeeded", charged: 1 });
  });

  it("charges an answer opening with a preamble and no Title: label; its first line is the title", async () => {
    const { final, available } = await generateWith("fake/preamble");
    expect(final).toMatchObject({
      event: "done",
      data: { title: "Fix the login redirect loop on Safari", charged: 1 },
    });
    expect(String(final?.data.description)).toMatch(/^## Steps to reproduce/);
    expect(available).toBe(2);
  });

  it("charges an answer without a Title: label: first line as title, the rest as description", async () => {
    const { final, available, a } = await generateWith("fake/notitle");
    expect(final).toMatchObject({
      event: "done",
      data: { title: "Fix the login redirect loop on Safari", charged: 1 },
    });
    expect(String(final?.data.description)).toContain("## Acceptance criteria");
    expect(available).toBe(2);
    expect((await ledger(a.id)).filter((e) => e.type === "usage")).toHaveLength(1);
  });

  it("charges nothing for a whitespace-only answer", async () => {
    const { final, available, row, a } = await generateWith("fake/blank");
    expect(final).toMatchObject({ event: "error", data: { code: "upstream_error", charged: 0 } });
    expect(available).toBe(3);
    expect(row).toMatchObject({ status: "failed", charged: 0 });
    expect((await ledger(a.id)).filter((e) => e.type === "usage")).toEqual([]);
  });
});
