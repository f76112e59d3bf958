/**
 * Detection and context reading on saved DOM of each site (happy-dom has no
 * real selection or clipboard: writing is proven in Chromium, test/e2e).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { gitlabAdapter } from "@/sites/gitlab/adapter";
import { jiraAdapter, separateBlocks } from "@/sites/jira/adapter";
import { linearAdapter } from "@/sites/linear/adapter";
import type { SiteAdapter } from "@/sites/types";

function setUrl(url: string) {
  (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(url);
}

function load(name: string, url: string) {
  setUrl(url);
  document.body.innerHTML = readFileSync(join(process.cwd(), "test/fixtures/dom", `${name}.html`), "utf8");
}

/** Loads the saved page `name` at `url`; returns the create form the adapter finds in it. */
function formOn(adapter: SiteAdapter, name: string, url: string) {
  load(name, url);
  return adapter.findForm(document);
}

beforeEach(() => {
  document.body.innerHTML = "";
  for (const name of document.body.getAttributeNames()) document.body.removeAttribute(name);
});

describe("Jira", () => {
  it("finds the create form by its dotted id, and reads the pickers and fields inside it", () => {
    const form = formOn(jiraAdapter, "jira-create", "https://example.atlassian.net/jira/your-work");
    expect(form?.id).toBe("issue-create.ui.modal.create-form");
    expect(jiraAdapter.readContext(form as Element)).toEqual({
      site: "jira",
      title: "Checkout breaks",
      // The comment box earlier in the page shares the editor's id; the
      // description's own editor only shows its placeholder.
      description: "",
      project: "Webshop (SHOP)",
      issueType: "Bug",
      url: "https://example.atlassian.net/jira/your-work",
    });
  });

  it("reads the description the user already wrote", () => {
    const form = formOn(
      jiraAdapter,
      "jira-create",
      "https://example.atlassian.net/jira/your-work",
    ) as Element;
    const editor = form.querySelector(".ProseMirror") as HTMLElement;
    editor.innerHTML = "<p>Only on Safari 17.</p>";
    expect(jiraAdapter.readContext(form).description).toBe("Only on Safari 17.");
  });

  it("finds the older form variant", () => {
    document.body.innerHTML = '<form data-testid="issue-create.modal.form"><input name="summary"></form>';
    expect(jiraAdapter.findForm(document)?.getAttribute("data-testid")).toBe("issue-create.modal.form");
  });

  it("finds nothing on a page with editors but no create modal", () => {
    expect(formOn(jiraAdapter, "jira-no-form", "https://example.atlassian.net/browse/SHOP-12")).toBeNull();
  });
});

describe("separateBlocks (Atlassian's single newlines are hard breaks)", () => {
  it("ends a list with a blank line before the next paragraph", () => {
    expect(separateBlocks("1. one\n2. two\nAfter the list.")).toBe("1. one\n2. two\n\nAfter the list.");
    expect(separateBlocks("- a\n  continued\n- b\n## Next")).toBe("- a\n  continued\n- b\n\n## Next");
  });

  it("leaves well-separated Markdown and code blocks alone", () => {
    const md = "## Title\nText\n\n- a\n- b\n\n```\n- not a list\nplain\n```\nEnd";
    expect(separateBlocks(md)).toBe(md);
  });
});

describe("GitLab", () => {
  it("work-item form in rich mode: title, type, project, and the editor's text (not the hidden input)", () => {
    load("gitlab-work-item-rich", "https://gitlab.com/acme/webapp/-/work_items/new");
    document.body.setAttribute("data-project-full-path", "acme/webapp");
    const form = gitlabAdapter.findForm(document) as Element;
    expect(form.getAttribute("data-testid")).toBe("create-work-item");
    // happy-dom ignores `selected` in parsed markup; a browser would have picked Task.
    (form.querySelector("select") as HTMLSelectElement).selectedIndex = 2;
    const context = gitlabAdapter.readContext(form);
    expect(context).toMatchObject({
      site: "gitlab",
      title: "Search flickers",
      project: "acme/webapp",
      issueType: "Task",
      url: "https://gitlab.com/acme/webapp/-/work_items/new",
    });
    expect(context.description).toContain("Results flicker while typing.");
  });

  it("work-item form in plain mode: the textarea's Markdown; project from the URL", () => {
    const form = formOn(
      gitlabAdapter,
      "gitlab-work-item-plain",
      "https://gitlab.example.com/gitlab/acme/sub/webapp/-/issues/new",
    ) as Element;
    expect(gitlabAdapter.readContext(form)).toMatchObject({
      title: "",
      description: "## Steps\n1. Open search",
      project: "gitlab/acme/sub/webapp",
      issueType: undefined,
    });
  });

  it("the legacy form of a self-managed instance", () => {
    const form = formOn(
      gitlabAdapter,
      "gitlab-legacy",
      "https://git.example.com/acme/legacy/-/issues/new",
    ) as Element;
    expect(form.id).toBe("new_issue");
    expect(gitlabAdapter.readContext(form)).toMatchObject({
      title: "Legacy title",
      description: "Legacy body",
      project: "acme/legacy",
    });
  });

  it("an epic form is an epic even without a type picker", () => {
    document.body.innerHTML =
      '<div data-testid="create-work-item"><input data-testid="work-item-title-input"></div>';
    setUrl("https://gitlab.com/groups/acme/-/epics/new");
    const form = gitlabAdapter.findForm(document) as Element;
    expect(gitlabAdapter.readContext(form)).toMatchObject({ project: "acme", issueType: "Epic" });
  });

  it("nothing on the issue list, whose comment boxes use the same textarea class", () => {
    expect(formOn(gitlabAdapter, "gitlab-list", "https://gitlab.com/acme/webapp/-/issues")).toBeNull();
  });
});

describe("Linear", () => {
  it("the create dialog is the form; a comment editor elsewhere is not", () => {
    const form = formOn(linearAdapter, "linear-dialog", "https://linear.app/acme/team/ENG/active") as Element;
    expect(form.getAttribute("role")).toBe("dialog");
    expect(linearAdapter.readContext(form)).toEqual({
      site: "linear",
      title: "Rate limit exports",
      description: "Exports time out for big workspaces.",
      project: "ENG",
      url: "https://linear.app/acme/team/ENG/active",
    });
  });

  it("a create page without a dialog: the box that holds both fields", () => {
    const form = formOn(linearAdapter, "linear-new-page", "https://linear.app/acme/new") as Element;
    expect(form.className).toBe("sc-composer");
    expect(linearAdapter.readContext(form)).toMatchObject({ title: "", description: "", project: "acme" });
  });

  it("nothing where there is no title editor", () => {
    document.body.innerHTML =
      '<div role="dialog" aria-label="Search"><div contenteditable="true" aria-label="Comment"></div></div>';
    expect(linearAdapter.findForm(document)).toBeNull();
  });
});
