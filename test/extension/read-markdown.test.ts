/**
 * Reading each fixture site's description editor back as Markdown. The
 * editors are the real engines (ProseMirror, tiptap) rendering their own
 * documents; only the selection and clipboard are missing here.
 */
import type { Editor } from "@tiptap/core";
import { defaultMarkdownParser } from "prosemirror-markdown";
import { DOMParser as PMParser } from "prosemirror-model";
import { EditorState } from "prosemirror-state";
import { afterEach, describe, expect, it } from "vitest";
import { editorMarkdown } from "@/lib/read-markdown";
import { richEditor } from "../fixtures/sites/gitlab/rich-editor";
import { atlassianEditor } from "../fixtures/sites/jira/atlassian-editor";
import { descriptionSchema, editor as linearEditor } from "../fixtures/sites/linear/editors";

const destroy: (() => void)[] = [];
afterEach(() => {
  for (const d of destroy.splice(0)) d();
  document.body.innerHTML = "";
});

function place() {
  const el = document.createElement("div");
  document.body.append(el);
  return el;
}

/** What GitLab's server renders for a template with headings, a checklist, code and a link. */
const GITLAB_HTML = `<h2>Summary</h2><p>Export fails for <strong>large</strong> files, see <a href="https://gitlab.com/acme/shop/-/issues/4">#4</a>.</p>
<h2>Steps to reproduce</h2><ol><li><p>Open <code>/export</code></p><ul><li><p>pick CSV</p></li><li><p>pick <em>all</em> rows</p></li></ul></li><li><p>Press Export</p></li></ol>
<h2>Checklist</h2><ul><li><input type="checkbox" disabled> Tests added</li><li><input type="checkbox" checked disabled> Docs updated</li></ul>
<pre><code class="language-sh">npm run export -- --all</code></pre>`;

describe("GitLab's rich editor (tiptap) as Markdown", () => {
  it("keeps headings, nested lists, checklists, links and code", () => {
    const editor: Editor = richEditor(place(), GITLAB_HTML, () => {});
    destroy.push(() => editor.destroy());
    expect(editorMarkdown(editor.view.dom)).toBe(
      [
        "## Summary",
        "",
        "Export fails for **large** files, see [#4](https://gitlab.com/acme/shop/-/issues/4).",
        "",
        "## Steps to reproduce",
        "",
        "1. Open `/export`",
        "   - pick CSV",
        "   - pick *all* rows",
        "2. Press Export",
        "",
        "## Checklist",
        "",
        "- [ ] Tests added",
        "- [x] Docs updated",
        "",
        "```sh",
        "npm run export -- --all",
        "```",
      ].join("\n"),
    );
  });

  it("an empty editor reads as nothing", () => {
    const editor: Editor = richEditor(place(), "", () => {});
    destroy.push(() => editor.destroy());
    expect(editorMarkdown(editor.view.dom)).toBe("");
  });
});

describe("Jira's Atlassian editor (ProseMirror) as Markdown", () => {
  it("reads the document, not the placeholder it draws while empty", () => {
    const view = atlassianEditor(place(), "Description", "Type /, or @ to mention");
    destroy.push(() => view.destroy());
    expect(view.dom.textContent).toContain("Type /");
    expect(editorMarkdown(view.dom)).toBe("");
  });

  it("headings, nested lists, code, links and hard breaks", () => {
    const view = atlassianEditor(place(), "Description", "hint");
    destroy.push(() => view.destroy());
    const md =
      "### Context\n\nSee [the runbook](https://wiki.example.com/run) and `retry()`.\n\n- one\n  - one a\n- two\n\n```\nline 1\nline 2\n```";
    const doc = defaultMarkdownParser.parse(md);
    view.updateState(EditorState.create({ schema: view.state.schema, doc, plugins: view.state.plugins }));
    expect(editorMarkdown(view.dom)).toBe(md);
  });

  it("text that looks like Markdown syntax stays text", () => {
    const view = atlassianEditor(place(), "Description", "hint");
    destroy.push(() => view.destroy());
    const doc = view.state.schema.node("doc", null, [
      view.state.schema.node("paragraph", null, [view.state.schema.text("# not a heading")]),
    ]);
    view.updateState(EditorState.create({ schema: view.state.schema, doc }));
    expect(editorMarkdown(view.dom)).toBe("\\# not a heading");
  });
});

describe("Linear's description editor (ProseMirror) as Markdown", () => {
  it("reads an HTML paste's structure back", () => {
    const holder = document.createElement("div");
    holder.innerHTML =
      "<h2>Goal</h2><p>Rate limit <em>the export</em>.</p><ol><li><p>Measure</p><ol><li><p>p95</p></li></ol></li><li><p>Limit</p></li></ol><blockquote><p>Customers asked twice.</p></blockquote>";
    const doc = PMParser.fromSchema(descriptionSchema).parse(holder);
    const view = linearEditor(place(), "Issue description", "Add description…", EditorState.create({ doc }));
    destroy.push(() => view.destroy());
    expect(editorMarkdown(view.dom)).toBe(
      "## Goal\n\nRate limit *the export*.\n\n1. Measure\n   1. p95\n2. Limit\n\n> Customers asked twice.",
    );
  });
});
