import { editorText, pasteAndVerify, setFieldValue } from "@/lib/editor";
import { clean, failed, firstFailure } from "../common";
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
    // Atlassian draws its placeholder as text inside the editor while it is empty.
    const empty = !editor || editor.querySelector(".placeholder-decoration");
    return {
      site: "jira",
      title: summary?.value ?? "",
      description: empty ? "" : editorText(editor).trim(),
      project: pickerValue(form, jira.projectPicker),
      issueType: pickerValue(form, jira.issueTypePicker) || undefined,
      url: form.ownerDocument.location?.href ?? "",
    };
  },

  async insert(form, ticket: Ticket) {
    const results: InsertResult[] = [];
    const summary = form.querySelector<HTMLInputElement>(jira.summary);
    if (!summary) results.push(failed("title", "The Summary field was not found in Jira's form."));
    else if (!(await setFieldValue(summary, ticket.title)))
      results.push(failed("title", "Jira did not accept the summary."));

    const editor = descriptionEditor(form);
    if (!editor) results.push(failed("description", "The Description editor was not found in Jira's form."));
    else if (
      !(await pasteAndVerify(editor, { text: separateBlocks(ticket.description) }, ticket.description))
    )
      results.push(failed("description", "Jira's editor did not take the description."));
    return firstFailure(results);
  },
};
