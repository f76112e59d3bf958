import { useEffect, useRef, useState } from "react";
import type { PanelDraft } from "@/lib/storage";
import type { PanelDeps } from "./deps";
import type { GenerationState } from "./generation";

/** Typing settles for this long before the draft is saved. */
const SAVE_DELAY_MS = 300;

export interface DraftFields {
  prompt: string;
  issueType: string;
  feature: string;
  generation: GenerationState;
}

/** The draft for what the panel holds now; null when there is nothing to keep. */
export function draftOf({ prompt, issueType, feature, generation: g }: DraftFields): PanelDraft | null {
  // Inserted: the work is in the form now, nothing left to keep.
  if (g.insert?.ok) return null;
  const result: PanelDraft["result"] =
    g.phase === "done" && g.ticket
      ? { phase: "done", text: g.text, ticket: g.ticket, charged: g.charged }
      : g.phase !== "idle" && g.text
        ? // A stream cut by closing the panel keeps what arrived, as Stop does.
          { phase: "stopped", text: g.text, ticket: null, charged: 0 }
        : null;
  if (!prompt.trim() && !result) return null;
  return { prompt, issueType, feature, result, savedAt: new Date().toISOString() };
}

/**
 * Keeps the panel's work across close, reopen and navigation within the tab:
 * restores the form's draft once on open, then saves every change (and on
 * close) until the ticket is inserted or discarded.
 */
export function useDraft(
  deps: PanelDeps,
  form: string,
  fields: DraftFields,
  restore: (draft: PanelDraft) => void,
) {
  const [loaded, setLoaded] = useState(!deps.loadDraft);
  const latest = useRef<PanelDraft | null>(null);
  const dirty = useRef(false);
  const restoreRef = useRef(restore);
  restoreRef.current = restore;

  useEffect(() => {
    if (!deps.loadDraft) return;
    let live = true;
    deps
      .loadDraft(form)
      .then((draft) => live && draft && restoreRef.current(draft))
      .catch(() => {})
      .finally(() => live && setLoaded(true));
    return () => {
      live = false;
    };
  }, [deps, form]);

  const draft = loaded ? draftOf(fields) : null;
  const key = draft ? JSON.stringify({ ...draft, savedAt: "" }) : "null";
  latest.current = draft;

  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for the draft's content.
  useEffect(() => {
    if (!loaded || !deps.saveDraft) return;
    dirty.current = true;
    const timer = setTimeout(() => {
      dirty.current = false;
      void deps.saveDraft?.(form, latest.current).catch(() => {});
    }, SAVE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [key, loaded, deps, form]);

  // Closing the panel (✕, Escape, the launcher) saves what was not saved yet.
  useEffect(
    () => () => {
      if (dirty.current) void deps.saveDraft?.(form, latest.current).catch(() => {});
    },
    [deps, form],
  );

  return { loaded };
}
