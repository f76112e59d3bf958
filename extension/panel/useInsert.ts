import { type Dispatch, useCallback, useState } from "react";
import { renderMarkdown, ticketMarkdown } from "@/lib/markdown";
import type { SiteAdapter } from "@/sites/types";
import type { PanelDeps } from "./deps";
import type { GenerationAction, Ticket } from "./generation";

export type InsertOutcome = { ok: boolean; message?: string };

/** Writing the ticket into the site's form, and Copy as the way out when that fails. */
export function useInsert(
  adapter: SiteAdapter,
  form: Element,
  deps: PanelDeps,
  dispatch: Dispatch<GenerationAction>,
) {
  const [copied, setCopied] = useState(false);

  const copy = useCallback(
    async (ticket: Ticket) => {
      try {
        await deps.copy(ticketMarkdown(ticket));
        setCopied(true);
      } catch {
        dispatch({
          type: "inserted",
          result: {
            ok: false,
            message: "The clipboard is not available here. Select the preview and copy it by hand.",
          },
        });
      }
    },
    [deps, dispatch],
  );

  const insert = useCallback(
    async (ticket: Ticket): Promise<InsertOutcome> => {
      const fail = (message: string): InsertOutcome => {
        dispatch({ type: "inserted", result: { ok: false, message } });
        return { ok: false, message };
      };
      try {
        // Editors that take an HTML paste (Linear) need the structure; the others use the Markdown.
        const descriptionHtml = renderMarkdown(ticket.description);
        const result = await adapter.insert(form, { ...ticket, descriptionHtml });
        if (result.ok) {
          dispatch({
            type: "inserted",
            result: { ok: true, message: "Inserted into the form. Review it, then save." },
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

  return { insert, copy, copied, setCopied };
}
