/**
 * Whether the form's description holds a template (a GitLab issue template,
 * a Jira project's default description, a Linear template) rather than a
 * ticket someone wrote: headings whose sections hold only prompts
 * ("Describe the steps…"), comments, empty items or open checkboxes.
 * "Write a ticket" then sends it as `context.template` so the ticket fills
 * it section by section (decision 014).
 */

/** The Worker's limit on `context.template` (docs/api.md). */
export const MAX_TEMPLATE = 20_000;

export interface FormTemplate {
  /** The template as Markdown, as the form holds it. */
  markdown: string;
  /** Its section headings, in order. */
  headings: string[];
  /** How many checklist items it has. */
  checklist: number;
}

const HEADING = /^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$/;
const CHECKLIST = /^\s*(?:[-*+]|\d+[.)])\s+\[[ xX]\]\s*(.*)$/;
const LIST_ITEM = /^\s*(?:[-*+]|\d+[.)])\s*(.*)$/;
/** Words a template's prompt starts with: it asks the writer for something. */
const ASKS =
  /^(?:please\s+)?(?:describe|explain|list|add|provide|include|enter|write|summari[sz]e|outline|mention|link|attach|paste|tell|give|note|state|specify|define|insert|replace|what|why|how|when|where|who|which|steps to|e\.g\.|for example)\b/i;
/** A placeholder standing in for text: `[…]`, `<…>`, `_…_`, `*…*`, `TBD`. */
const PLACEHOLDER = /^(?:\[[^\]]*\]|<[^>]*>|_[^_]+_|\*[^*]+\*|\(.*\)|tbd|todo|n\/a|-|…|\.\.\.)$/i;

/** Whether a line of body text is a prompt to the writer rather than content. */
export function isPrompt(line: string): boolean {
  const text = line
    .trim()
    .replace(/^>\s*/, "")
    .replace(/^\\(?=[#>*+-])/, "");
  if (!text) return false;
  if (/^<!--.*-->$/.test(text)) return true;
  if (PLACEHOLDER.test(text)) return true;
  if (/(?:…|\.\.\.)$/.test(text) && text.length <= 200) return true;
  return ASKS.test(text) && text.length <= 200 && /[?:….]$|\.\.\.$|^[^.]*$/.test(text);
}

/** The template the description holds, or null when it reads as a written ticket (or is empty). */
export function detectTemplate(markdown: string): FormTemplate | null {
  const text = markdown.replace(/\r\n?/g, "\n").trim();
  if (!text || text.length > MAX_TEMPLATE) return null;
  // Comments spanning lines count as prompts; fold them onto one line first.
  const lines = text.replace(/<!--[\s\S]*?-->/g, (c) => c.replace(/\s*\n\s*/g, " ")).split("\n");
  const headings: string[] = [];
  let checklist = 0;
  let prompts = 0;
  let content = 0;
  let inFence = false;
  for (const line of lines) {
    if (/^\s*(```|~~~)/.test(line)) {
      inFence = !inFence;
      content++;
      continue;
    }
    if (inFence || !line.trim() || /^\s*(?:---+|\*\*\*+)\s*$/.test(line)) continue;
    const heading = HEADING.exec(line);
    if (heading) {
      headings.push((heading[1] ?? "").replace(/[*_`]/g, "").trim());
      continue;
    }
    const task = CHECKLIST.exec(line);
    if (task) {
      checklist++;
      continue;
    }
    const item = LIST_ITEM.exec(line);
    const body = item ? (item[1] ?? "") : line;
    if (!body.trim() || isPrompt(body)) prompts++;
    else content++;
  }
  const structure = headings.length + checklist;
  // A template asks for things; a written ticket states them. Allow a line of
  // guidance per two sections ("Please fill in what applies").
  const isTemplate =
    headings.length > 0
      ? (prompts + checklist > 0 || (headings.length >= 2 && content === 0)) &&
        content <= Math.floor(headings.length / 2)
      : prompts >= 2 && content === 0;
  if (!isTemplate || structure + prompts < 2) return null;
  return { markdown: text, headings, checklist };
}

/**
 * "Write a ticket" on a form holding a template: the template goes as
 * `context.template` (and not again as the description it is). Other
 * features, or a template the user chose to ignore, leave the request as it is.
 */
export function applyTemplate<
  R extends { feature: string; context: { description: string; template?: string } },
>(request: R, use: boolean): R {
  if (!use || request.feature !== "generate") return request;
  const template = detectTemplate(request.context.description);
  if (!template) return request;
  return { ...request, context: { ...request.context, description: "", template: template.markdown } };
}
