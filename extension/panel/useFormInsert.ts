import { type Dispatch, useCallback, useEffect, useRef, useState } from "react";
import type { Feature } from "@/lib/api";
import { renderMarkdown } from "@/lib/markdown";
import { detectTemplate, type FormTemplate } from "@/lib/template";
import type { FormSnapshot, PageContext, SiteAdapter } from "@/sites/types";
import type { GenerationAction, Ticket } from "./generation";

/** The heading subtasks are appended under (decision 014). */
export const SUBTASKS_HEADING = "## Subtasks";

/** What is appended for a subtasks result: its checklist under one heading, never its title. */
export function subtasksSection(ticket: Ticket): string {
  const body = ticket.description.trim();
  return /^#{1,6}\s/.test(body) ? body : `${SUBTASKS_HEADING}\n\n${body}`;
}

/** What an Insert came to, for the panel and for History's insert request. */
export type InsertOutcome = { ok: boolean; message?: string };

/** How long DOM changes in the form are left to settle before it is read again. */
const SETTLE_MS = 150;

/**
 * The form's title and description as they are now, read again whenever the
 * form changes, and at once when `written` changes (after an Insert or Undo).
 */
export function useFormContent(adapter: SiteAdapter, form: Element, written?: unknown): PageContext | null {
  const read = useCallback(() => {
    try {
      return adapter.readContext(form);
    } catch {
      return null;
    }
  }, [adapter, form]);
  const [content, setContent] = useState<PageContext | null>(read);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `written` is the trigger, not an input.
  useEffect(() => setContent(read()), [read, written]);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const later = () => {
      clearTimeout(timer);
      timer = setTimeout(() => setContent(read()), SETTLE_MS);
    };
    const observer = new MutationObserver(later);
    observer.observe(form, { childList: true, subtree: true, characterData: true });
    // Inputs change their value without a DOM mutation. The panel sits inside
    // the form: its own typing (retargeted to its host) is not the form's, and
    // reading in the middle of it would re-render the panel under React's feet.
    const onInput = (event: Event) => {
      if ((event.target as Element | null)?.localName !== "myba-ticket-panel") later();
    };
    form.addEventListener("input", onInput, true);
    return () => {
      observer.disconnect();
      clearTimeout(timer);
      form.removeEventListener("input", onInput, true);
    };
  }, [form, read]);
  return content;
}

/** The template the form's description holds, for "Write a ticket". */
export function useFormTemplate(content: PageContext | null): FormTemplate | null {
  const description = content?.description ?? "";
  const [template, setTemplate] = useState<FormTemplate | null>(() => detectTemplate(description));
  useEffect(() => setTemplate(detectTemplate(description)), [description]);
  return template;
}

/**
 * Insert that can be undone: the form's fields are snapshot first, subtasks
 * are appended to the description (the title stays), and Undo puts the
 * snapshot back through each editor's own input path.
 */
export function useFormInsert(
  adapter: SiteAdapter,
  form: Element,
  dispatch: Dispatch<GenerationAction>,
  /** Called once the form was written (Insert or Undo), so what it holds is read again. */
  onWritten: () => void = () => {},
) {
  const snapshot = useRef<FormSnapshot | null>(null);
  // Kept in a ref: insert and undo stay the same functions across renders.
  const written = useRef(onWritten);
  written.current = onWritten;
  const [canUndo, setCanUndo] = useState(false);
  const [undone, setUndone] = useState<{ ok: boolean; message: string } | null>(null);

  const insert = useCallback(
    async (ticket: Ticket, feature: Feature = "generate"): Promise<InsertOutcome> => {
      const fail = (message: string): InsertOutcome => {
        dispatch({ type: "inserted", result: { ok: false, message } });
        return { ok: false, message };
      };
      setUndone(null);
      const append = feature === "subtasks";
      try {
        const before = adapter.snapshot(form);
        const description = append ? subtasksSection(ticket) : ticket.description;
        // Editors that take an HTML paste (Linear) need the structure; the others use the Markdown.
        const result = await adapter.insert(
          form,
          { title: ticket.title, description, descriptionHtml: renderMarkdown(description) },
          { mode: append ? "append" : "replace" },
        );
        // Even a half-done Insert changed the form: Undo stays possible.
        snapshot.current = before;
        setCanUndo(true);
        written.current();
        if (result.ok) {
          dispatch({
            type: "inserted",
            result: {
              ok: true,
              message: append
                ? "Subtasks added to the description. Review them, then save."
                : "Inserted into the form. Review it, then save.",
            },
          });
          return { ok: true };
        }
        return fail(
          `Could not write the ${result.field} into the form (${result.reason}). Copy the ticket and paste it instead.`,
        );
      } catch (err) {
        return fail(
          `Could not write into the form (${(err as Error)?.message || "unknown error"}). Copy the ticket and paste it instead.`,
        );
      }
    },
    [adapter, form, dispatch],
  );

  const undo = useCallback(async () => {
    const before = snapshot.current;
    if (!before) return;
    let result: { ok: boolean; message: string };
    try {
      const restored = await adapter.restore(form, before);
      result = restored.ok
        ? { ok: true, message: "Undone: the form holds what it held before Insert." }
        : { ok: false, message: `Could not undo: ${restored.reason}` };
    } catch (err) {
      result = { ok: false, message: `Could not undo: ${(err as Error)?.message || "unknown error"}` };
    }
    if (result.ok) {
      snapshot.current = null;
      setCanUndo(false);
    }
    setUndone(result);
    written.current();
    // Back to the ticket, so it can be inserted again.
    dispatch({ type: "inserted", result: null });
  }, [adapter, form, dispatch]);

  return { insert, undo, canUndo, undone };
}
