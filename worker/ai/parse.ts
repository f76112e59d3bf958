/** Jira's summary limit; the other sites take less in practice but not by rule. */
export const MAX_TITLE_CHARS = 255;
export const MAX_DESCRIPTION_CHARS = 20_000;

export interface ParsedTicket {
  title: string;
  description: string;
}

const TITLE_LINE = /^[\s>#*_-]*(?:title|summary)[\s*_]*[:：][\s*_]*(.*)$/i;
const DESCRIPTION_LABEL = /^[\s>#*_-]*description[\s*_]*[:：][\s*_]*(.*)$/i;
const FENCE = /^\s*(```|~~~)/;
const CHATTER_OPENING =
  /^(sure|certainly|of course|absolutely|okay|ok|here(?:'s| is| are)|below is)\b.*[:!.]\s*$/i;
const CHATTER_CLOSING =
  /^(let me know|i hope|hope this|feel free|if you(?:'d| would) like|would you like|this ticket)\b/i;

/**
 * Splits model output into a title and a Markdown description. Asked for
 * "Title: …" then the description, a model may still wrap everything in a
 * code fence, bold the label, call it "Summary", or add a greeting and a
 * sign-off: all of those are tolerated. Without any label, the first line
 * (a heading or not) is the title.
 */
export function parseTicket(raw: string): ParsedTicket {
  const parsed = parseLines(unfence(raw.replace(/\r\n?/g, "\n").split("\n")));
  if (parsed.title || raw.trim() === "") return parsed;
  // Text was delivered (and is paid for), so it always yields a ticket: the
  // description's first line becomes the title, or the whole text is kept.
  const [first = "", ...rest] = dropLeadingBlank(parsed.description.split("\n"));
  const title = cleanTitle(first);
  if (title) return { title, description: dropLeadingBlank(rest).join("\n").trim() };
  return { title: UNTITLED, description: truncate(raw.trim(), MAX_DESCRIPTION_CHARS) };
}

/** The title of a ticket whose text offers none (the output was only symbols or fences). */
export const UNTITLED = "Untitled ticket";

/**
 * A model asked for no code fence may still put one on every line
 * ("```Title: …```"): then every fence is dropped, keeping the text. A fence
 * only around the whole answer or around a code block is left to `parseLines`.
 */
function unfence(lines: string[]): string[] {
  const text = lines.filter((l) => l.trim() !== "");
  if (text.length === 0 || !text.every((l) => FENCE.test(l))) return lines;
  return lines.map((l) => {
    const inner = l.replace(/^\s*(?:`{3,}|~{3,})/, "").replace(/(?:`{3,}|~{3,})\s*$/, "");
    return FENCE_LANGUAGE.test(inner) ? "" : inner.trim();
  });
}

const FENCE_LANGUAGE = /^\s*(?:markdown|md|gfm|text|txt|plaintext)?\s*$/i;

function parseLines(lines: string[]): ParsedTicket {
  let titleAt = lines.findIndex((l) => TITLE_LINE.test(l));
  let title: string;
  if (titleAt >= 0) {
    title = TITLE_LINE.exec(lines[titleAt] ?? "")?.[1] ?? "";
  } else {
    titleAt = lines.findIndex((l) => l.trim() !== "" && !FENCE.test(l) && !CHATTER_OPENING.test(l.trim()));
    title = titleAt >= 0 ? (lines[titleAt] ?? "") : "";
  }
  // An opening fence before the title line wraps the whole answer: drop its closing twin.
  const fenced = lines.slice(0, Math.max(titleAt, 0)).some((l) => FENCE.test(l));
  let body = titleAt >= 0 ? lines.slice(titleAt + 1) : [];
  body = dropLeadingBlank(body);
  const label = body[0] !== undefined ? DESCRIPTION_LABEL.exec(body[0]) : null;
  if (label) body = [label[1] ?? "", ...body.slice(1)];
  body = dropClosingChatter(dropTrailingBlank(body));
  if (fenced && body.length > 0 && FENCE.test(body[body.length - 1] ?? "")) body = body.slice(0, -1);

  return {
    title: cleanTitle(title),
    description: truncate(body.join("\n").trim(), MAX_DESCRIPTION_CHARS),
  };
}

function cleanTitle(line: string): string {
  const title = line
    .replace(/^\s*#{1,6}\s+/, "")
    .replace(/^[\s*_`"'“]+|[\s*_`"'”]+$/g, "")
    .replace(/\s+/g, " ")
    .replace(/\.$/, "")
    .trim();
  return truncate(title, MAX_TITLE_CHARS);
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max - 1).trimEnd()}…`;
}

function dropLeadingBlank(lines: string[]): string[] {
  const first = lines.findIndex((l) => l.trim() !== "");
  return first < 0 ? [] : lines.slice(first);
}

function dropTrailingBlank(lines: string[]): string[] {
  let end = lines.length;
  while (end > 0 && (lines[end - 1] ?? "").trim() === "") end--;
  return lines.slice(0, end);
}

/** Removes a sign-off paragraph ("Let me know if…") the model may append. */
function dropClosingChatter(lines: string[]): string[] {
  let start = lines.length;
  while (start > 0 && (lines[start - 1] ?? "").trim() !== "") start--;
  const last = lines.slice(start).join(" ").trim();
  if (start > 0 && CHATTER_CLOSING.test(last)) return dropTrailingBlank(lines.slice(0, start));
  return lines;
}
