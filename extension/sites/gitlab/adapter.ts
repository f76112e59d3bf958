import { pasteAndVerify, setFieldValue } from "@/lib/editor";
import { editorMarkdown } from "@/lib/read-markdown";
import { appendMarkdown, clean, failed, firstFailure, restoreField, snapshotField } from "../common";
import type { InsertResult, SiteAdapter, Ticket } from "../types";
import { gitlab } from "./selectors";

/** `group/sub/project` from GitLab's layout, else from a `/<path>/-/…` URL. */
function projectPath(doc: Document): string {
  const fromBody = doc.querySelector(gitlab.projectPath)?.getAttribute("data-project-full-path");
  if (fromBody) return fromBody;
  const path = doc.location?.pathname ?? "";
  const match = /^\/(?:groups\/)?(.+?)\/-\//.exec(path);
  return match?.[1] ?? "";
}

function issueType(form: Element): string | undefined {
  const select = form.querySelector<HTMLSelectElement>(gitlab.typeSelect);
  const chosen = select && select.selectedIndex >= 0 ? select.options[select.selectedIndex] : undefined;
  if (chosen?.value) return clean(chosen.textContent);
  if (/\/epics\/new\b/.test(form.ownerDocument.location?.pathname ?? "")) return "Epic";
  return undefined;
}

export const gitlabAdapter: SiteAdapter = {
  site: "gitlab",

  findForm: (root) => root.querySelector(gitlab.form),

  readContext(form) {
    const title = form.querySelector<HTMLInputElement>(gitlab.title);
    const rich = form.querySelector<HTMLElement>(gitlab.richEditor);
    const plain = form.querySelector<HTMLTextAreaElement>(gitlab.plainEditor);
    return {
      site: "gitlab",
      title: title?.value ?? "",
      // Rich mode: the editor's document as Markdown; plain mode: the Markdown itself.
      description: rich ? editorMarkdown(rich) : (plain?.value ?? ""),
      project: projectPath(form.ownerDocument),
      issueType: issueType(form),
      url: form.ownerDocument.location?.href ?? "",
    };
  },

  async insert(form, ticket: Ticket, options = {}) {
    const results: InsertResult[] = [];
    const append = options.mode === "append";
    const title = form.querySelector<HTMLInputElement>(gitlab.title);
    if (append) {
      // Subtasks are added to the parent; its title stays.
    } else if (!title) results.push(failed("title", "The Title field was not found in GitLab's form."));
    else if (!(await setFieldValue(title, ticket.title)))
      results.push(failed("title", "GitLab did not accept the title."));

    // In rich mode the element carrying the description's id is a hidden
    // input that nothing reads; the editor is the only way in.
    const rich = form.querySelector<HTMLElement>(gitlab.richEditor);
    const plain = form.querySelector<HTMLTextAreaElement>(gitlab.plainEditor);
    // GitLab keeps descriptions as Markdown (the rich editor saves Markdown
    // too), so appending is writing the Markdown it holds plus the addition.
    const before = rich ? editorMarkdown(rich) : (plain?.value ?? "");
    const md = append ? appendMarkdown(before, ticket.description) : ticket.description;
    if (rich) {
      // The content editor renders the Markdown on the server before it shows
      // it, so give the round-trip time before calling it a failure.
      if (!(await pasteAndVerify(rich, { text: md, gfm: md }, md, 10_000)))
        results.push(failed("description", "GitLab's rich text editor did not take the description."));
    } else if (plain) {
      if (!(await setFieldValue(plain, md)))
        results.push(failed("description", "GitLab did not accept the description."));
    } else {
      results.push(failed("description", "The Description field was not found in GitLab's form."));
    }
    return firstFailure(results);
  },

  snapshot(form) {
    return {
      title: snapshotField(form.querySelector<HTMLElement>(gitlab.title)),
      description: snapshotField(
        form.querySelector<HTMLElement>(gitlab.richEditor) ??
          form.querySelector<HTMLElement>(gitlab.plainEditor),
      ),
    };
  },

  async restore(form, snapshot) {
    const title = await restoreField(form.querySelector<HTMLElement>(gitlab.title), snapshot.title);
    const description = await restoreField(
      form.querySelector<HTMLElement>(gitlab.richEditor) ??
        form.querySelector<HTMLElement>(gitlab.plainEditor),
      snapshot.description,
    );
    return firstFailure([
      title ? { ok: true } : failed("title", "GitLab's title could not be put back."),
      description
        ? { ok: true }
        : failed("description", "GitLab's description could not be put back (did the editor mode change?)."),
    ]);
  },
};
