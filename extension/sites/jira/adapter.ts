import { compactHtml, editorHtml, pasteAndVerify, pasteHtmlAndVerify, setFieldValue } from "@/lib/editor";
import { editorMarkdown } from "@/lib/read-markdown";
import { appendMarkdown, clean, failed, firstFailure, restoreField, snapshotField } from "../common";
import type { InsertResult, SiteAdapter, Ticket } from "../types";
import { jira } from "./selectors";

/** The description editor of this form, never a comment box elsewhere on the page. */
function descriptionEditor(form: Element): HTMLElement | null {
  const field = form.querySelector(jira.descriptionField);
  return field?.querySelector<HTMLElement>(jira.descriptionEditor) ?? null;
}

function pickerValue(form: Element, selector: string): string {
  const picker = form.querySelector(selector) ?? form.ownerDocument.querySelector(selector);
  if (!picker) return "";
  return clean((picker.querySelector(jira.pickerValue) ?? picker).textContent);
}

/**
 * Atlassian's editor parses a text/plain paste as Markdown but turns single
 * newlines into hard breaks, so a line right after a list would join its last
 * item: end every list with a blank line.
 */
export function separateBlocks(markdown: string): string {
  const out: string[] = [];
  let inList = false;
  let inFence = false;
  for (const line of markdown.replace(/\r\n?/g, "\n").split("\n")) {
    const blank = line.trim() === "";
    const fence = /^\s*(```|~~~)/.test(line);
    const item = /^\s*([-*+]|\d+[.)])\s/.test(line);
    if (!inFence && inList && !blank && !item && !/^\s/.test(line)) out.push("");
    if (fence) inFence = !inFence;
    if (!inFence && !blank) inList = item || (inList && /^\s/.test(line));
    if (blank) inList = false;
    out.push(line);
  }
  return out.join("\n");
}

export const jiraAdapter: SiteAdapter = {
  site: "jira",

  findForm: (root) => root.querySelector(jira.form),

  readContext(form) {
    const summary = form.querySelector<HTMLInputElement>(jira.summary);
    const editor = descriptionEditor(form);
    return {
      site: "jira",
      title: summary?.value ?? "",
      // Atlassian draws its placeholder as text inside the empty editor; the reader leaves it out.
      description: editor ? editorMarkdown(editor) : "",
      project: pickerValue(form, jira.projectPicker),
      issueType: pickerValue(form, jira.issueTypePicker) || undefined,
      url: form.ownerDocument.location?.href ?? "",
    };
  },

  async insert(form, ticket: Ticket, options = {}) {
    const results: InsertResult[] = [];
    const append = options.mode === "append";
    const summary = form.querySelector<HTMLInputElement>(jira.summary);
    if (append) {
      // Subtasks are added to the parent; its summary stays.
    } else if (!summary) results.push(failed("title", "The Summary field was not found in Jira's form."));
    else if (!(await setFieldValue(summary, ticket.title)))
      results.push(failed("title", "Jira did not accept the summary."));

    const editor = descriptionEditor(form);
    if (!editor) results.push(failed("description", "The Description editor was not found in Jira's form."));
    else if (append) {
      // The document is not Markdown (panels, mentions…): keep it as the editor
      // renders it and paste it back with the addition's blocks after it.
      const expected = appendMarkdown(editorMarkdown(editor), ticket.description);
      const html = editorHtml(editor) + compactHtml(ticket.descriptionHtml ?? "", form.ownerDocument);
      if (!ticket.descriptionHtml || !(await pasteHtmlAndVerify(editor, html, { text: expected })))
        results.push(failed("description", "Jira's editor did not take the subtasks."));
    } else if (
      !(await pasteAndVerify(editor, { text: separateBlocks(ticket.description) }, ticket.description))
    )
      results.push(failed("description", "Jira's editor did not take the description."));
    return firstFailure(results);
  },

  snapshot(form) {
    return {
      title: snapshotField(form.querySelector<HTMLElement>(jira.summary)),
      description: snapshotField(descriptionEditor(form)),
    };
  },

  async restore(form, snapshot) {
    const title = await restoreField(form.querySelector<HTMLElement>(jira.summary), snapshot.title);
    const description = await restoreField(descriptionEditor(form), snapshot.description);
    return firstFailure([
      title ? { ok: true } : failed("title", "Jira's summary could not be put back."),
      description ? { ok: true } : failed("description", "Jira's description could not be put back."),
    ]);
  },
};
