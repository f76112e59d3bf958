import { editorText, pasteAndVerify, setFieldValue } from "@/lib/editor";
import { clean, failed, firstFailure } from "../common";
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
      description: rich ? editorText(rich).trim() : (plain?.value ?? ""),
      project: projectPath(form.ownerDocument),
      issueType: issueType(form),
      url: form.ownerDocument.location?.href ?? "",
    };
  },

  async insert(form, ticket: Ticket) {
    const results: InsertResult[] = [];
    const title = form.querySelector<HTMLInputElement>(gitlab.title);
    if (!title) results.push(failed("title", "The Title field was not found in GitLab's form."));
    else if (!(await setFieldValue(title, ticket.title)))
      results.push(failed("title", "GitLab did not accept the title."));

    // In rich mode the element carrying the description's id is a hidden
    // input that nothing reads; the editor is the only way in.
    const rich = form.querySelector<HTMLElement>(gitlab.richEditor);
    const plain = form.querySelector<HTMLTextAreaElement>(gitlab.plainEditor);
    const md = ticket.description;
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
};
