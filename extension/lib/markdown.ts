import DOMPurify from "dompurify";
import { Marked } from "marked";

const marked = new Marked({ gfm: true, breaks: false, async: false });

/**
 * Markdown from the model → HTML safe to put in the page. The model's text
 * is untrusted (a prompt can ask for anything), so everything goes through
 * DOMPurify with no scripts, styles, forms or event handlers.
 */
export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown) as string;
  return DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe", "img"],
    FORBID_ATTR: ["style"],
  });
}

/**
 * Splits a streamed ticket ("Title: …" then the Markdown description, as the
 * Worker asks the model) so the preview shows the title as a title while it streams.
 */
export function splitStreamedTicket(text: string): { title: string; description: string } {
  const match = /^\s*(?:title|summary)\s*:\s*(.*)(?:\r?\n|$)/i.exec(text);
  if (!match) return { title: "", description: text };
  return { title: (match[1] ?? "").trim(), description: text.slice(match[0].length).replace(/^\s+/, "") };
}

/** The ticket as one Markdown document, for Copy and for pasting by hand. */
export function ticketMarkdown(ticket: { title: string; description: string }): string {
  return ticket.title ? `${ticket.title}\n\n${ticket.description}`.trim() : ticket.description.trim();
}
