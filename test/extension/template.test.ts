import { describe, expect, it } from "vitest";
import { applyTemplate, detectTemplate, isPrompt, MAX_TEMPLATE } from "@/lib/template";
import { willReplace } from "@/panel/InsertBar";
import { subtasksSection } from "@/panel/useFormInsert";

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

describe("applyTemplate (what Write a ticket sends)", () => {
  const request = (feature: string, description: string) => ({
    feature,
    context: { title: "", description, project: "", url: "" } as {
      title: string;
      description: string;
      project: string;
      url: string;
      template?: string;
    },
  });

  it("sends the form's template as context.template, not again as the description", () => {
    expect(applyTemplate(request("generate", GITLAB_BUG), true).context).toEqual({
      title: "",
      description: "",
      project: "",
      url: "",
      template: GITLAB_BUG,
    });
  });

  it("leaves the request alone when ignored, for refine and subtasks, or without a template", () => {
    expect(applyTemplate(request("generate", GITLAB_BUG), false).context.template).toBeUndefined();
    expect(applyTemplate(request("refine", GITLAB_BUG), true).context).toMatchObject({
      description: GITLAB_BUG,
    });
    expect(
      applyTemplate(request("generate", "Export fails at 10 MB."), true).context.template,
    ).toBeUndefined();
  });
});

describe("what Insert says and appends", () => {
  const content = (title: string, description: string) => ({
    site: "jira" as const,
    title,
    description,
    project: "",
    url: "",
  });

  it("names what it will replace in a non-empty form, and nothing for an empty one", () => {
    expect(willReplace(content("Old", "a\n\nb"), "generate")).toBe(
      "Insert will replace the title “Old” and the description (2 lines). Undo puts them back.",
    );
    expect(willReplace(content("", ""), "generate")).toBeNull();
    expect(willReplace(content("Old", "a"), "subtasks")).toMatch(/adds the subtasks .* The title stays\.$/);
  });

  it("subtasks go under one heading; the title of the result is not used", () => {
    expect(subtasksSection({ title: "Subtasks: x", description: "- [ ] a\n- [ ] b\n" })).toBe(
      "## Subtasks\n\n- [ ] a\n- [ ] b",
    );
  });
});
