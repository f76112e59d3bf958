import { useMemo } from "react";
import { renderMarkdown } from "@/lib/markdown";
import type { Phase, Ticket } from "./generation";

/** The ticket as it streams and once done: the title apart, the description as sanitized Markdown. */
export function Preview({ ticket, phase }: { ticket: Ticket; phase: Phase }) {
  const html = useMemo(() => renderMarkdown(ticket.description), [ticket.description]);
  const streaming = phase === "streaming";
  return (
    <section
      className="myba-preview"
      data-testid="myba-preview"
      aria-live="polite"
      aria-busy={streaming}
      aria-label="Generated ticket"
      data-state={phase}
    >
      {ticket.title && <p className="myba-ticket-title">{ticket.title}</p>}
      {/* biome-ignore lint/security/noDangerouslySetInnerHtml: the HTML comes from renderMarkdown, which sanitizes it (DOMPurify). */}
      <div dangerouslySetInnerHTML={{ __html: html }} />
      {streaming && <span className="myba-cursor" aria-hidden="true" />}
    </section>
  );
}
