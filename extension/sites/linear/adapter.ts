import { editorText, pasteAndVerify, pasteInto, waitFor } from "@/lib/editor";
import { clean, failed, firstFailure } from "../common";
import type { InsertResult, SiteAdapter, Ticket } from "../types";
import { linear } from "./selectors";

/** `KEY` from `/<workspace>/team/<KEY>/…`, else the workspace. */
function project(doc: Document): string {
  const [workspace, section, key] = (doc.location?.pathname ?? "").split("/").filter(Boolean);
  if (section === "team" && key) return key;
  return workspace && workspace !== "new" ? workspace : "";
}

export const linearAdapter: SiteAdapter = {
  site: "linear",

  findForm(root) {
    const title = root.querySelector(linear.title);
    if (!title) return null;
    const dialog = title.closest(linear.dialog);
    if (dialog) return dialog;
    // A create page without a dialog: the nearest box holding both fields.
    let box = title.parentElement;
    while (box && !box.querySelector(linear.description) && box.parentElement) box = box.parentElement;
    return box;
  },

  readContext(form) {
    const title = form.querySelector<HTMLElement>(linear.title);
    const description = form.querySelector<HTMLElement>(linear.description);
    return {
      site: "linear",
      title: title ? clean(editorText(title)) : "",
      description: description ? editorText(description).trim() : "",
      project: project(form.ownerDocument),
      url: form.ownerDocument.location?.href ?? "",
    };
  },

  async insert(form, ticket: Ticket) {
    const results: InsertResult[] = [];
    const title = form.querySelector<HTMLElement>(linear.title);
    const oneLine = clean(ticket.title);
    if (!title) results.push(failed("title", "The title editor was not found in Linear's dialog."));
    else {
      await pasteInto(title, { text: oneLine });
      if (!(await waitFor(() => clean(editorText(title)) === oneLine, 1000)))
        results.push(failed("title", "Linear's title editor did not take the title."));
    }

    const description = form.querySelector<HTMLElement>(linear.description);
    const md = ticket.description;
    if (!description)
      results.push(failed("description", "The description editor was not found in Linear's dialog."));
    else if (!(await pasteAndVerify(description, { text: md, html: ticket.descriptionHtml }, md)))
      results.push(failed("description", "Linear's editor did not take the description."));
    return firstFailure(results);
  },
};
