/**
 * The mock provider's answer when the form holds a description template
 * (docs/api.md, "Generation"): the template's sections in its order, headings and
 * checkboxes kept, each filled only from the request's own sentences. A
 * section the request says nothing about keeps its prompt and gets an
 * explicit open question, so nothing is invented.
 */

export interface TemplateSection {
  /** The heading line as written ("### Steps to reproduce"), or "" for text before the first heading. */
  heading: string;
  /** The heading's words ("Steps to reproduce"). */
  name: string;
  /** Checklist items ("- [ ] Tests added"), kept as written and in order. */
  checkboxes: string[];
  /** Everything else under the heading: the template's prompts ("Describe the steps…", comments). */
  prompts: string[];
}

const HEADING = /^(#{1,6})\s+(.+?)\s*#*\s*$/;
const CHECKBOX = /^\s*[-*+]\s+\[[ xX]\]\s+/;

/** The template's sections in order; blank lines are dropped. */
export function templateSections(template: string): TemplateSection[] {
  const sections: TemplateSection[] = [];
  let current: TemplateSection = { heading: "", name: "", checkboxes: [], prompts: [] };
  for (const line of template.replace(/\r\n?/g, "\n").split("\n")) {
    const heading = HEADING.exec(line);
    if (heading) {
      if (current.heading || current.checkboxes.length || current.prompts.length) sections.push(current);
      current = { heading: line.trim(), name: stripMarks(heading[2] ?? ""), checkboxes: [], prompts: [] };
    } else if (CHECKBOX.test(line)) {
      current.checkboxes.push(line.trimEnd());
    } else if (line.trim()) {
      current.prompts.push(line.trimEnd());
    }
  }
  if (current.heading || current.checkboxes.length || current.prompts.length) sections.push(current);
  return sections;
}

/** Whether a description is a template to fill: at least one heading or checkbox. */
export function looksLikeTemplate(text: string | undefined): text is string {
  if (!text) return false;
  return text.split("\n").some((l) => HEADING.test(l) || CHECKBOX.test(l));
}

type Kind = "summary" | "steps" | "expected" | "actual" | "environment" | "criteria" | "other";

const KINDS: [Kind, RegExp][] = [
  ["steps", /\b(steps?|reproduc|how to)/i],
  ["expected", /\bexpect|desired|should happen/i],
  ["actual", /\b(actual|current behaviou?r|what happens|observed)/i],
  ["environment", /\b(environment|browser|device|version|platform|os)\b/i],
  ["criteria", /\b(acceptance|criteria|definition of done|done when|checklist)/i],
  [
    "summary",
    /\b(summary|description|overview|context|background|problem|goal|what|why|details?|user story|motivation)/i,
  ],
];

const ENVIRONMENT =
  /\b(?:Safari|Chrome|Firefox|Edge|Opera|iOS|iPadOS|Android|Windows|macOS|Linux)(?: \d+(?:\.\d+)*)?\b/g;

/** Words too common to tie a sentence to a section. */
const STOP = new Set(
  "the a an and or of to for in on at with when if by from that this it is are be as not what how why who which should would can could does do did was were has have had been there their they them its any all some our your you we i".split(
    " ",
  ),
);

const words = (text: string) =>
  (text.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? []).filter((w) => !STOP.has(w));

/**
 * The description: each section of `template` in order, filled from
 * `request` (the user's words). `question` words the open questions and
 * varies with the mock's variant.
 */
export function fillTemplate(
  template: string,
  request: string,
  question: (section: string) => string,
): string {
  const sections = templateSections(template);
  const sentences = splitSentences(request);
  const kinds = sections.map((s) => kindOf(s.name));
  const claimed = new Set<number>();
  const fills = sections.map((s, i) => fillFor(kinds[i] ?? "other", s, { sentences, claimed, request }));
  // The first summary-like section (or the first section) gets whatever no other section took.
  const rest = sentences.filter((_, j) => !claimed.has(j));
  const summaryAt = Math.max(0, kinds.indexOf("summary"));
  if (rest.length && sections.length) fills[summaryAt] = [...(fills[summaryAt] ?? []), ...rest];

  const out = sections.map((s, i) => {
    const fill = fills[i] ?? [];
    const lines: string[] = s.heading ? [s.heading, ""] : [];
    if (fill.length) {
      lines.push(fill.join(/^(?:\d+\.|-) /.test(fill[0] ?? "") ? "\n" : " "));
    } else if (kinds[i] !== "criteria" || s.checkboxes.length === 0) {
      // The request is silent here: the template's prompt stays, with the question it leaves open.
      lines.push(...s.prompts, ...(s.prompts.length ? [""] : []), question(s.name || "this section"));
    }
    if (s.checkboxes.length)
      lines.push(...(fill.length || kinds[i] !== "criteria" ? [""] : []), ...s.checkboxes);
    return lines
      .join("\n")
      .replace(/\n{3,}/g, "\n\n")
      .trim();
  });
  return out.join("\n\n");
}

interface Source {
  sentences: string[];
  /** Sentences already placed in a section: each goes in one only. */
  claimed: Set<number>;
  request: string;
}

/** The request's sentences (or facts) that belong in one section; empty when it says nothing about it. */
function fillFor(kind: Kind, section: TemplateSection, src: Source): string[] {
  const pick = (test: (sentence: string) => boolean) => {
    const picked: string[] = [];
    for (const [j, sentence] of src.sentences.entries()) {
      if (src.claimed.has(j) || !test(sentence)) continue;
      src.claimed.add(j);
      picked.push(sentence);
    }
    return picked;
  };
  switch (kind) {
    case "steps":
      return pick((t) => STEP.test(t)).map((t, n) => `${n + 1}. ${t}`);
    case "expected":
      return pick((t) => /\b(should|expect|instead|must)\b/i.test(t));
    case "actual":
      return pick((t) => FAILURE.test(t));
    case "environment":
      return [...new Set(src.request.match(ENVIRONMENT) ?? [])].map((e) => `- ${e}`);
    case "criteria":
    case "summary":
      return [];
    case "other": {
      const topic = new Set(words(`${section.name} ${section.prompts.join(" ")}`));
      return topic.size ? pick((t) => words(t).some((w) => topic.has(w))) : [];
    }
  }
}

const STEP = /\b(click|open|go to|enter|press|select|type|tap|sign in|log in|then)\b/i;
const FAILURE =
  /\b(fails?|error|crash|broken|wrong|nothing|blank|loops?|freez|can'?t|cannot|does(?:n't| not)|never)\b/i;

function kindOf(name: string): Kind {
  return KINDS.find(([, re]) => re.test(name))?.[0] ?? "other";
}

function splitSentences(text: string): string[] {
  return text
    .replace(/\s+/g, " ")
    .split(/(?<=[.!?])\s+(?=\S)/)
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => (/[.!?]$/.test(t) ? t : `${t}.`))
    .map((t) => t.charAt(0).toUpperCase() + t.slice(1));
}

function stripMarks(text: string): string {
  return text.replace(/[*_`]/g, "").replace(/:$/, "").trim();
}
