import type { ApiErrorInfo, GenerateRequest } from "@/lib/api";
import { ticketMarkdown } from "@/lib/markdown";
import type { BackgroundToPanel } from "@/lib/messaging";
import type { PanelDraft } from "@/lib/storage";

/** The generation's state machine, pure so it reads (and tests) without React. */

export interface Ticket {
  title: string;
  description: string;
}

export type Phase = "idle" | "streaming" | "done" | "stopped" | "error";

export interface GenerationState {
  phase: Phase;
  text: string;
  ticket: Ticket | null;
  charged: number;
  error: (ApiErrorInfo & { charged: number }) | null;
  /** The request the current result belongs to (Retry sends it again). */
  request: GenerateRequest | null;
  insert: { ok: boolean; message: string } | null;
}

export type GenerationAction =
  | { type: "begin"; request: GenerateRequest }
  | { type: "message"; message: BackgroundToPanel }
  | { type: "show"; ticket: Ticket }
  | { type: "inserted"; result: { ok: boolean; message: string } | null }
  /** A kept draft's result, shown again on reopen (its request is gone: Regenerate makes a new one). */
  | { type: "restore"; result: NonNullable<PanelDraft["result"]> }
  /** The balance moved since a balance error: it no longer holds. */
  | { type: "clearError" }
  /** Discard, or "New ticket" after Insert: back to an empty panel. */
  | { type: "reset" };

export const initialGeneration: GenerationState = {
  phase: "idle",
  text: "",
  ticket: null,
  charged: 0,
  error: null,
  request: null,
  insert: null,
};

export function reduceGeneration(state: GenerationState, action: GenerationAction): GenerationState {
  switch (action.type) {
    case "begin":
      return { ...initialGeneration, phase: "streaming", request: action.request };
    case "show":
      return {
        ...initialGeneration,
        phase: "done",
        ticket: action.ticket,
        text: ticketMarkdown(action.ticket),
      };
    case "inserted":
      return { ...state, insert: action.result };
    case "restore":
      return { ...initialGeneration, ...action.result };
    case "clearError":
      if (state.phase !== "error") return state;
      return { ...state, phase: state.text ? "stopped" : "idle", error: null };
    case "reset":
      return initialGeneration;
    case "message": {
      const m = action.message;
      if (state.phase !== "streaming") return state;
      switch (m.type) {
        case "start":
          return state;
        case "delta":
          return { ...state, text: state.text + m.text };
        case "done":
          return {
            ...state,
            phase: "done",
            ticket: { title: m.title, description: m.description },
            charged: m.charged,
          };
        case "error":
          return { ...state, phase: "error", error: { ...m.error, charged: m.charged } };
        case "stopped":
          return { ...state, phase: "stopped" };
      }
    }
  }
  return state;
}
