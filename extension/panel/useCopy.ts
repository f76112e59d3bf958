import { type Dispatch, useCallback, useState } from "react";
import { ticketMarkdown } from "@/lib/markdown";
import type { PanelDeps } from "./deps";
import type { GenerationAction, Ticket } from "./generation";

/** Copy: the way out whenever the form cannot be written (Insert is useFormInsert's). */
export function useCopy(deps: PanelDeps, dispatch: Dispatch<GenerationAction>) {
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

  return { copy, copied, setCopied };
}
