import {
  compactHtml,
  editorHtml,
  editorText,
  pasteAndVerify,
  pasteHtmlAndVerify,
  pasteInto,
  waitFor,
} from "@/lib/editor";
import { editorMarkdown } from "@/lib/read-markdown";
import { appendMarkdown, clean, failed, firstFailure, restoreField, snapshotField } from "../common";
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
      description: description ? editorMarkdown(description) : "",
      project: project(form.ownerDocument),
      url: form.ownerDocument.location?.href ?? "",
    };
  },

  async insert(form, ticket: Ticket, options = {}) {
    const results: InsertResult[] = [];
    const append = options.mode === "append";
    const title = form.querySelector<HTMLElement>(linear.title);
    const oneLine = clean(ticket.title);
    if (append) {
      // Subtasks are added to the parent; its title stays.
    } else if (!title) results.push(failed("title", "The title editor was not found in Linear's dialog."));
    else {
      await pasteInto(title, { text: oneLine });
      if (!(await waitFor(() => clean(editorText(title)) === oneLine, 1000)))
        results.push(failed("title", "Linear's title editor did not take the title."));
    }

    const description = form.querySelector<HTMLElement>(linear.description);
    const md = ticket.description;
    if (!description)
      results.push(failed("description", "The description editor was not found in Linear's dialog."));
    else if (append) {
      // What the editor holds, as it renders it, then the addition's blocks.
      const expected = appendMarkdown(editorMarkdown(description), md);
      const html = editorHtml(description) + compactHtml(ticket.descriptionHtml ?? "", form.ownerDocument);
      if (!ticket.descriptionHtml || !(await pasteHtmlAndVerify(description, html, { text: expected })))
        results.push(failed("description", "Linear's editor did not take the subtasks."));
    } else if (!(await pasteAndVerify(description, { text: md, html: ticket.descriptionHtml }, md)))
      results.push(failed("description", "Linear's editor did not take the description."));
    return firstFailure(results);
  },

  snapshot(form) {
    return {
      title: snapshotField(form.querySelector<HTMLElement>(linear.title)),
      description: snapshotField(form.querySelector<HTMLElement>(linear.description)),
    };
  },

  async restore(form, snapshot) {
    const title = await restoreField(form.querySelector<HTMLElement>(linear.title), snapshot.title);
    const description = await restoreField(
      form.querySelector<HTMLElement>(linear.description),
      snapshot.description,
    );
    return firstFailure([
      title ? { ok: true } : failed("title", "Linear's title could not be put back."),
      description ? { ok: true } : failed("description", "Linear's description could not be put back."),
    ]);
  },
};
