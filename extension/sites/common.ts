import { editorHtml, pasteHtmlAndVerify, setFieldValue, type TextField } from "@/lib/editor";
import { editorMarkdown } from "@/lib/read-markdown";
import type { FieldSnapshot, InsertResult } from "./types";

/** Collapses whitespace the way a reader would. */
export const clean = (text: string | null | undefined) => (text ?? "").replace(/\s+/g, " ").trim();

export const failed = (field: "title" | "description", reason: string): InsertResult => ({
  ok: false,
  field,
  reason,
});

/** Both fields are always attempted; the panel hears of the first that failed. */
export function firstFailure(results: InsertResult[]): InsertResult {
  return results.find((r) => !r.ok) ?? { ok: true };
}

/** Markdown `addition` after `existing`, a blank line between (so a list before it ends). */
export function appendMarkdown(existing: string, addition: string): string {
  const head = existing.replace(/\s+$/, "");
  return head ? `${head}\n\n${addition.trim()}\n` : `${addition.trim()}\n`;
}

const isTextField = (el: Element): el is TextField => el.tagName === "INPUT" || el.tagName === "TEXTAREA";

/** What a field holds: an input's value, or a rich editor's own rendering of its document. */
export function snapshotField(el: HTMLElement | null): FieldSnapshot {
  if (!el) return { kind: "missing" };
  if (isTextField(el)) return { kind: "value", value: el.value };
  return { kind: "rich", html: editorHtml(el), text: editorMarkdown(el) };
}

/**
 * Puts a field back as it was, through the same input paths Insert uses
 * (native setter + input event; a paste of the editor's own HTML), so the
 * page's app state follows. A field that is gone or changed kind fails.
 */
export async function restoreField(el: HTMLElement | null, snap: FieldSnapshot): Promise<boolean> {
  if (snap.kind === "missing") return true;
  if (!el) return false;
  if (snap.kind === "value") return isTextField(el) && (await setFieldValue(el, snap.value));
  if (isTextField(el)) return false;
  if (editorHtml(el) === snap.html) return true;
  return pasteHtmlAndVerify(el, snap.html, { html: snap.html, text: snap.text });
}
