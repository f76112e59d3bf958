import { describe, expect, it } from "vitest";
import { detectTemplate, isPrompt, MAX_TEMPLATE } from "@/lib/template";

/** GitLab's bug template, as the rich editor reads back (comments are gone there). */
const GITLAB_BUG = [
  "## Summary",
  "",
  "Describe the bug in a sentence…",
  "",
  "## Steps to reproduce",
  "",
  "1. ",
  "",
  "## Expected behaviour",
  "",
  "What should happen?",
  "",
  "## Checklist",
  "",
  "- [ ] Severity label set",
  "- [ ] Screenshots attached",
].join("\n");

describe("detectTemplate", () => {
  it("recognises headings with prompts and a checklist, in their order", () => {
    expect(detectTemplate(GITLAB_BUG)).toEqual({
      markdown: GITLAB_BUG,
      headings: ["Summary", "Steps to reproduce", "Expected behaviour", "Checklist"],
      checklist: 2,
    });
  });

  it("a plain textarea's template with HTML comments as prompts", () => {
    const md =
      "### Problem\n\n<!-- What is wrong?\n     Who sees it? -->\n\n### Proposal\n\n<!-- What should we do? -->\n";
    expect(detectTemplate(md)?.headings).toEqual(["Problem", "Proposal"]);
  });

  it("empty sections under headings are a template too", () => {
    expect(detectTemplate("## Context\n\n## Acceptance criteria\n")?.headings).toEqual([
      "Context",
      "Acceptance criteria",
    ]);
  });

  it("a ticket someone wrote is not a template", () => {
    const written = [
      "## Context",
      "Customers on Safari 17 cannot finish checkout once a gift card is applied.",
      "",
      "## Steps to reproduce",
      "1. Open the cart with two items",
      "2. Apply the gift card GIFT-42",
      "3. Press Pay now",
      "",
      "## Acceptance criteria",
      "- [ ] Checkout completes on Safari 17",
    ].join("\n");
    expect(detectTemplate(written)).toBeNull();
  });

  it("nothing, a sentence, or one heading alone is not a template", () => {
    expect(detectTemplate("")).toBeNull();
    expect(detectTemplate("The export times out for large files.")).toBeNull();
    expect(detectTemplate("## Notes")).toBeNull();
  });

  it("prompts without headings (Linear-style) count when there are several and nothing else", () => {
    expect(detectTemplate("Describe the problem…\n\nWhat did you expect?")).not.toBeNull();
    expect(detectTemplate("Describe the problem…\n\nThe export fails at 10 MB.")).toBeNull();
  });

  it("a template over the Worker's limit is not sent as one", () => {
    const huge = `## A\n\nDescribe…\n\n${"- [ ] x\n".repeat(MAX_TEMPLATE / 8 + 10)}`;
    expect(detectTemplate(huge)).toBeNull();
  });
});

describe("isPrompt", () => {
  it("asks, placeholders and ellipses are prompts; statements are not", () => {
    for (const p of [
      "Describe the steps…",
      "What happened?",
      "[Link to the design]",
      "<!-- fill in -->",
      "TBD",
      "_Optional_",
    ])
      expect(isPrompt(p), p).toBe(true);
    for (const c of ["The export fails at 10 MB.", "Safari 17 only", "Retry once, then show an error."])
      expect(isPrompt(c), c).toBe(false);
  });
});
