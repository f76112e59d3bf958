import { describe, expect, it } from "vitest";
import { DRAFT_TTL_MS, draftKey, dropTab, keepDraft } from "@/entrypoints/background/panel";
import type { PanelDraft } from "@/lib/storage";
import { initialGeneration } from "@/panel/generation";
import { draftOf } from "@/panel/useDraft";

const draft = (prompt: string, savedAt = new Date(1_000_000).toISOString()): PanelDraft => ({
  prompt,
  issueType: "auto",
  feature: "generate",
  result: null,
  savedAt,
});

describe("the background's drafts", () => {
  it("are kept per tab and form, and a tab's go when it closes", () => {
    const now = 1_000_000;
    let drafts = keepDraft({}, draftKey(1, "jira|acme.atlassian.net"), draft("one"), now);
    drafts = keepDraft(drafts, draftKey(2, "jira|acme.atlassian.net"), draft("two"), now);
    expect(drafts["1|jira|acme.atlassian.net"]?.prompt).toBe("one");
    expect(drafts["2|jira|acme.atlassian.net"]?.prompt).toBe("two");
    expect(Object.keys(dropTab(drafts, 1))).toEqual(["2|jira|acme.atlassian.net"]);
    // Saving null forgets that form's draft only.
    expect(Object.keys(keepDraft(drafts, "2|jira|acme.atlassian.net", null, now))).toEqual([
      "1|jira|acme.atlassian.net",
    ]);
  });

  it("drops drafts older than a day on the next save, and refuses a sender without a tab", () => {
    const old = keepDraft({}, "1|linear|linear.app", draft("old"), 1_000_000);
    const later = keepDraft(old, "2|linear|linear.app", draft("new"), 1_000_000 + DRAFT_TTL_MS + 1);
    expect(Object.keys(later)).toEqual(["2|linear|linear.app"]);
    expect(() => draftKey(undefined, "jira|x")).toThrow(/tabs only/);
  });
});

describe("what the panel keeps", () => {
  const fields = { prompt: "Dark mode", issueType: "bug", feature: "generate" };

  it("nothing typed and nothing generated: nothing to keep", () => {
    expect(draftOf({ ...fields, prompt: " ", generation: initialGeneration })).toBeNull();
  });

  it("a finished ticket with its charge; a cut stream as stopped; nothing once inserted", () => {
    const ticket = { title: "T", description: "D" };
    const done = { ...initialGeneration, phase: "done" as const, text: "Title: T\n\nD", ticket, charged: 1 };
    expect(draftOf({ ...fields, generation: done })?.result).toEqual({
      phase: "done",
      text: "Title: T\n\nD",
      ticket,
      charged: 1,
    });
    const cut = { ...initialGeneration, phase: "streaming" as const, text: "Title: T" };
    expect(draftOf({ ...fields, generation: cut })?.result).toMatchObject({ phase: "stopped", charged: 0 });
    const inserted = { ...done, insert: { ok: true, message: "Inserted" } };
    expect(draftOf({ ...fields, generation: inserted })).toBeNull();
  });
});
