import DOMPurify from "dompurify";
import { Marked } from "marked";

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const SAFE_HREF = /^(https?:|mailto:|#|\/)/i;

/**
 * The model's text is untrusted (a prompt can ask for anything). Two layers:
 * marked never emits the text's own HTML (it is shown as text), images (no
 * remote fetches from a ticket preview) or links other than http(s)/mailto;
 * DOMPurify then cleans the result where the browser supports it.
 */
const marked = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  renderer: {
    html: ({ text }) => escapeHtml(text),
    image: ({ text }) => escapeHtml(text),
    link({ href, title, tokens }) {
      const inner = this.parser.parseInline(tokens);
      if (!SAFE_HREF.test(href.trim())) return inner;
      const t = title ? ` title="${escapeHtml(title)}"` : "";
      return `<a href="${escapeHtml(href)}"${t} target="_blank" rel="noopener noreferrer nofollow">${inner}</a>`;
    },
  },
});

/** Markdown from the model → HTML safe to put in the page. */
export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown) as string;
  return DOMPurify.sanitize(html, {
    ADD_ATTR: ["target"],
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
