/** The pure parts of writing into pages; the editors themselves are driven in Chromium (test/e2e). */
import { describe, expect, it } from "vitest";
import { setFieldValue, showsText, visibleWords } from "@/lib/editor";

describe("showsText: did the editor take the ticket?", () => {
  const md = "## Steps\n1. Open [search](https://x.test/s)\n2. Type **fast**\n\n- [ ] No flicker";

  it("yes when the rendered text has the Markdown's words", () => {
    expect(showsText("Steps\nOpen search\nType fast\nNo flicker", md)).toBe(true);
  });

  it("no while a placeholder stands in for the rendered Markdown", () => {
    expect(showsText("Loading…", md)).toBe(false);
  });

  it("no when the old draft is still there beside the new text", () => {
    const old = "An old draft that the user wrote before asking MyBA to write the whole ticket for them";
    expect(showsText(`${old}\nSteps\nOpen search\nType fast\nNo flicker`, md)).toBe(false);
  });

  it("reads links and Markdown syntax as a reader would", () => {
    expect(visibleWords("See [the docs](https://example.com/a) and **bold**")).toEqual([
      "see",
      "the",
      "docs",
      "and",
      "bold",
    ]);
  });
});

describe("setFieldValue", () => {
  it("fires the input event a framework listens to, and reads the value back", async () => {
    const input = document.createElement("textarea");
    document.body.append(input);
    const seen: string[] = [];
    input.addEventListener("input", () => seen.push(input.value));
    expect(await setFieldValue(input, "## Title")).toBe(true);
    expect(seen).toEqual(["## Title"]);
  });

  it("reports a field whose app put its own value back", async () => {
    const input = document.createElement("input");
    document.body.append(input);
    // A controlled input whose state did not change restores its value.
    input.addEventListener("input", () => queueMicrotask(() => (input.value = "kept")));
    expect(await setFieldValue(input, "new")).toBe(false);
  });
});
