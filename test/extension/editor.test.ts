/** The pure parts of writing into pages; the editors themselves are driven in Chromium (test/e2e). */
import { afterEach, describe, expect, it, vi } from "vitest";
import { pasteInto, setFieldValue, showsText, visibleWords } from "@/lib/editor";

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

describe("pasteInto", () => {
  afterEach(() => vi.unstubAllGlobals());

  /** Pastes into an editable and returns what its paste listener could read. */
  async function paste(data: { text: string; html?: string; gfm?: string }) {
    const editable = document.createElement("div");
    editable.contentEditable = "true";
    document.body.append(editable);
    const read: Record<string, string>[] = [];
    editable.addEventListener("paste", (event) => {
      const types = [...(event.clipboardData?.types ?? [])];
      read.push(Object.fromEntries(types.map((type) => [type, event.clipboardData?.getData(type) ?? ""])));
      event.preventDefault();
    });
    const taken = await pasteInto(editable, data);
    editable.remove();
    return { taken, read };
  }

  it("carries every type in the event's clipboardData", async () => {
    const { taken, read } = await paste({ text: "# T", html: "<h1>T</h1>" });
    expect(taken).toBe(true);
    expect(read).toEqual([{ "text/html": "<h1>T</h1>", "text/plain": "# T" }]);
  });

  it("in Firefox, whose constructor drops clipboardData, sends the richest type through dataType/data", async () => {
    // Gecko's ClipboardEvent: `clipboardData` in the init is ignored; the
    // event's own DataTransfer holds only the non-standard dataType/data pair.
    const Native = ClipboardEvent;
    class GeckoClipboardEvent extends Native {
      constructor(type: string, init: ClipboardEventInit & { dataType?: string; data?: string } = {}) {
        const own = new DataTransfer();
        if (init.dataType) own.setData(init.dataType, init.data ?? "");
        super(type, { ...init, clipboardData: own });
      }
    }
    vi.stubGlobal("ClipboardEvent", GeckoClipboardEvent);

    expect((await paste({ text: "# T", html: "<h1>T</h1>" })).read).toEqual([{ "text/html": "<h1>T</h1>" }]);
    expect((await paste({ text: "# T", gfm: "# T" })).read).toEqual([{ "text/x-gfm": "# T" }]);
    const plain = await paste({ text: "# T" });
    expect(plain).toEqual({ taken: true, read: [{ "text/plain": "# T" }] });
  });
});
