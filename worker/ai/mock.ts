import { fillTemplate, looksLikeTemplate } from "./mock-template";
import { hash, lowerFirst, topicOf, type Wording, wording } from "./mock-wording";
import type { IssueType, TicketRequest } from "./types";

export { mockVariant } from "./mock-wording";

export const MOCK_MODEL = "myba/mock-ticket-writer";

/**
 * The built-in provider used when `OPENROUTER_API_KEY` is absent: a stand-in
 * for `fetch` that answers `/chat/completions` with OpenRouter's SSE bytes,
 * so the mock goes through exactly the parsing, metering and history code a
 * real model does. The ticket is deterministic: the same request and
 * `variant` always yield the same text; another variant (each regenerate
 * sends a new Idempotency-Key, see `mockVariant`) words it differently.
 */
export function mockFetch(req: TicketRequest, variant = 0): typeof fetch {
  return async () => {
    const text = mockTicket(req, variant);
    const id = `gen-mock-${hash(text)}`;
    const chunk = (body: object) =>
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: 0, model: MOCK_MODEL, provider: "MyBA", ...body })}\n\n`;
    const parts = [": OPENROUTER PROCESSING\n\n"];
    for (const piece of text.match(/[^\n]*\n*|\n+/g)?.filter(Boolean) ?? []) {
      parts.push(
        chunk({ choices: [{ index: 0, delta: { role: "assistant", content: piece }, finish_reason: null }] }),
      );
    }
    parts.push(
      chunk({ choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: "stop" }] }),
    );
    parts.push(
      chunk({
        choices: [],
        usage: {
          prompt_tokens: Math.ceil(req.prompt.length / 4) + 300,
          completion_tokens: Math.ceil(text.length / 4),
          total_tokens: Math.ceil(req.prompt.length / 4) + 300 + Math.ceil(text.length / 4),
          cost: 0,
        },
      }),
    );
    parts.push("data: [DONE]\n\n");
    const bytes = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const p of parts) controller.enqueue(bytes.encode(p));
        controller.close();
      },
    });
    return new Response(body, { headers: { "Content-Type": "text/event-stream" } });
  };
}

type Kind = Exclude<IssueType, "auto">;

/** A description section (a bare paragraph without a heading); Linear, which prefers brevity, leaves out `full` ones. */
interface Section {
  heading?: string;
  body: string;
  full?: boolean;
}

/** What a ticket is built from; only `title`, `want` and `env` are ever placed inside a template sentence. */
interface Facts {
  title: string;
  /** The request as a verb phrase ("export the audit log"), when it reads as one. */
  want?: string;
  /** The user's own "As a …" sentence, or who the story is for. */
  story: string;
  /** The user's words beyond the title, as they wrote them. */
  extra: string;
  /** Everything the user said about the work, for a Context or Goal section. */
  about: string;
  env: string[];
  project?: string;
  /** What a bug report is about, in the request's own nouns ("export to CSV"), when it names it plainly. */
  topic?: string;
  say: Wording;
}

/**
 * A plausible ticket from the request alone, in the site's conventions. The
 * user's words appear only where they stand on their own (the title, a
 * paragraph, a bullet, a quote) or where they are known to be a verb phrase,
 * so no prompt can turn a template sentence into broken grammar.
 */
export function mockTicket(req: TicketRequest, variant = 0): string {
  const ctx = req.context ?? {};
  const say = wording(variant);
  const max = req.site === "linear" ? 70 : 80;
  const box = req.site === "jira" ? "-" : "- [ ]";
  const h = req.site === "gitlab" ? "###" : "##";
  const current = req.feature !== "generate" ? (ctx.description?.trim() ?? "") : "";
  // Refine and subtasks work on the ticket in the form; their prompt is an instruction, not content.
  const source = (req.feature !== "generate" && (ctx.title?.trim() || current)) || req.prompt;
  const { first, rest } = splitFirst(source);
  const facts = factsOf(first, req.feature === "refine" ? current : prose(rest), ctx.project?.trim(), say);
  const kind = req.issueType === "auto" ? guessType(`${first} ${rest} ${current}`) : req.issueType;

  if (req.feature === "generate" && looksLikeTemplate(ctx.template)) {
    // The form's own template: its sections in order, filled from the request alone.
    const body = fillTemplate(ctx.template, req.prompt, say.openQuestion);
    return `Title: ${titleOf(facts.title, max)}\n\n${body}\n`;
  }

  if (req.feature === "subtasks") {
    const steps = SUBTASKS[kind](facts).map((step, i) => (i === 1 ? say.subtaskStep(step) : step));
    const list = req.site === "jira" ? steps.map((s, i) => `${i + 1}. ${s}`) : steps.map((s) => `- [ ] ${s}`);
    return `Title: Subtasks: ${titleOf(facts.title, max - 10)}\n\n${list.join("\n")}\n`;
  }

  const criteria = CRITERIA[kind](facts).map((c) => `${box} ${c}`);
  const sections = [...SECTIONS[kind](facts), { heading: "Acceptance criteria", body: criteria.join("\n") }]
    // A refined ticket keeps its own sections; only the missing ones are added.
    .filter((s) => !(s.full && req.site === "linear") && !(s.heading && hasHeading(facts.extra, s.heading)))
    .map((s) => (s.heading ? `${h} ${s.heading}\n\n${s.body}` : s.body));
  return `Title: ${titleOf(facts.title, max)}\n\n${sections.join("\n\n")}\n`;
}

function factsOf(first: string, extra: string, project: string | undefined, say: Wording): Facts {
  const stated = /^as an? [^,]+?,? I (?:want|need|would like) to (.+?)(?:,? so (?:that )?.+)?$/i.exec(
    first,
  )?.[1];
  const title = stated ?? (first.replace(FILLER, "") || first);
  const about = [sentence(stated ? first : title), extra, project && `This concerns the ${project} project.`];
  const want = stated ?? (VERB.test(title) ? lowerFirst(title) : undefined);
  const who = /^(?:let|allow|enable|help) (\w{3,}?[^s\W])s (?:to )?(\w.*)$/i.exec(title);
  const story = stated
    ? sentence(first)
    : who?.[1]
      ? `As ${article(who[1])} ${who[1]}, I want to ${who[2]}, ${say.workaround}.`
      : want
        ? `As a user, I want to ${want}, ${say.workaround}.`
        : `As a user, I want the change requested below, ${say.workaround}.\n\n> ${first}`;
  return {
    title,
    want: who?.[2] ?? want,
    story,
    extra,
    about: about.filter(Boolean).join("\n\n"),
    env: environment(`${first} ${extra}`),
    project,
    topic: topicOf(title),
    say,
  };
}

/** The title of a request with no words in it ("???"). */
const UNTITLED = "New ticket";

const SECTIONS: Record<Kind, (f: Facts) => Section[]> = {
  bug: (f) => [
    ...(f.extra ? [{ body: f.extra }] : []),
    {
      heading: "Steps to reproduce",
      body: [
        `1. Open the app${f.env[0] ? ` in ${f.env[0]}` : ""}`,
        `2. ${f.topic ? `Use the ${f.topic}` : f.say.whereStep}`,
        `3. ${f.say.repeatStep}`,
      ].join("\n"),
    },
    {
      heading: "Expected result",
      body: f.topic ? `The ${f.topic} ${f.say.expectedTopic}` : f.say.expected,
    },
    {
      heading: "Actual result",
      body:
        VERB.test(f.title) || f.title === UNTITLED
          ? "The problem named in the title occurs."
          : sentence(f.title),
    },
    ...(f.env.length || f.project
      ? [
          {
            heading: "Environment",
            body: bullets([...f.env, ...(f.project ? [`Project: ${f.project}`] : [])]),
          },
        ]
      : []),
  ],
  story: (f) => [
    { body: f.story },
    ...(f.extra || f.project
      ? [
          {
            heading: "Details",
            body: [f.extra, f.project && `This concerns the ${f.project} project.`]
              .filter(Boolean)
              .join("\n\n"),
          },
        ]
      : []),
  ],
  task: (f) => [
    { heading: "Context", body: f.about },
    {
      heading: "What to do",
      body: bullets([
        ...(f.want
          ? [capitalize(f.title)]
          : ["Agree on the expected outcome with the requester", "Make the change"]),
        f.say.tests,
        ...(f.want ? ["Update the documentation where behaviour changes"] : []),
      ]),
    },
  ],
  epic: (f) => [
    { heading: "Goal", body: f.about },
    {
      heading: "Scope",
      body: bullets([
        "Design and agree on the approach",
        f.say.firstVersion,
        "Roll out to all users and collect feedback",
      ]),
    },
    { heading: "Out of scope", body: bullets(["Work that does not serve the goal above"]), full: true },
    {
      heading: "Success measures",
      body: bullets([
        "The target users adopt it within a month of release",
        "Fewer support requests on this topic",
      ]),
      full: true,
    },
  ],
};

const CRITERIA: Record<Kind, (f: Facts) => string[]> = {
  bug: (f) => [
    `The problem no longer occurs${f.env.length ? ` in ${f.env.join(" or ")}` : ""}`,
    "A regression test covers this case",
    f.say.related,
  ],
  story: (f) => [
    `Given I am signed in, when I ${f.want ?? "use the change described above"}, then it works without errors or workarounds`,
    "Given I lack the needed permission, when I try the same, then I see a clear message instead of an error",
    f.say.retryCriterion,
  ],
  task: (f) => ["The outcome described above is in place", "Automated tests cover the change", f.say.related],
  epic: (f) => ["Every item in scope is delivered and released", f.say.confirmed],
};

const SUBTASKS: Record<Kind, (f: Facts) => string[]> = {
  bug: (f) => [
    `Reproduce the problem${f.env[0] ? ` in ${f.env[0]}` : ""} and write a failing test`,
    "Find and fix the root cause",
    "Check the related flows for the same problem",
    "Release the fix and confirm it with the reporter",
  ],
  story: () => [
    "Agree on the acceptance criteria with the product owner",
    "Design the user-facing flow",
    "Implement the change behind a feature flag",
    "Add automated tests for the main and edge cases",
    "Roll out and check the feedback",
  ],
  task: () => [
    "Agree on the expected outcome with the team",
    "Make the change",
    "Add automated tests for the main and edge cases",
    "Update the documentation and release notes",
  ],
  epic: () => [
    "Write the stories that make up the scope",
    "Design and agree on the approach",
    "Build a first usable version",
    "Roll out to all users and collect feedback",
    "Report on the success measures",
  ],
};

/** Words a request opens with that say nothing about the work ("Please", "We need to", "Bug:"). */
const FILLER =
  /^(?:(?:please|pls|kindly)\b[,\s]*|(?:can|could|would) you(?: please)?\s+|(?:we|i) (?:need|want|would like|have) to\s+|(?:create|write|make|open|file) (?:a |an |the )?(?:ticket|issue|story|bug|task|epic)(?: report)?(?: (?:to|for|about|that)\b|:)?\s*|\[?(?:bug|story|task|epic|feature)\]?\s*[:\-–]\s*)+/i;

/** An opening imperative verb: the request then reads as "I want to <it>". */
const VERB =
  /^(?:add|allow|archive|automate|build|cache|change|clean|configure|convert|create|deprecate|design|document|drop|enable|ensure|export|extract|filter|fix|handle|hide|implement|import|improve|integrate|introduce|investigate|let|limit|log|make|migrate|move|notify|optimi[sz]e|prevent|rate|redesign|reduce|refactor|remove|rename|replace|restore|retry|review|rewrite|send|show|sort|speed|split|support|switch|sync|track|translate|update|upgrade|upload|validate)\s/i;

function guessType(text: string): Kind {
  if (/^\s*as an? /i.test(text)) return "story";
  if (
    /\b(bugs?|errors?|crash(?:es|ed)?|broken|fail(?:s|ed|ing)?|wrong|exception|regression|freezes?|does(?:n't| not)|does nothing|not working|can(?:'t|not))\b/i.test(
      text,
    )
  )
    return "bug";
  if (/\b(epic|initiative|roadmap|overhaul)\b/i.test(text)) return "epic";
  if (/\b(users?|admins?|customers?) (?:can|should|want)\b|\b(?:let|allow) \w+s\b/i.test(text))
    return "story";
  return "task";
}

/** The first sentence or line (the title's source) and what follows it. */
function splitFirst(text: string): { first: string; rest: string } {
  const lines = text
    .trim()
    .replace(/\r\n?/g, "\n")
    .replace(/^[\s#>*-]+/, "");
  const at = lines.search(/[.!?](?=\s)|\n/);
  const first = (at < 0 ? lines : lines.slice(0, at))
    .replace(/\s+/g, " ")
    .replace(/[\s.,;:!?…]+$/, "")
    .trim();
  return { first: first || UNTITLED, rest: at < 0 ? "" : lines.slice(at + 1).trim() };
}

/** Sentence case, no trailing punctuation, cut at a word so nothing dangles. */
function titleOf(text: string, max: number): string {
  let t = /[a-z]/.test(text) ? text : text.toLowerCase();
  t = capitalize(t.replace(/[\s.,;:!?…]+$/, ""));
  if (t.length <= max) return t;
  t = t.slice(0, max + 1);
  // Prefer ending at a clause ("…, including retries") over a word cut mid-phrase.
  const clause = t.lastIndexOf(",");
  t =
    clause > max * 0.4
      ? t.slice(0, clause)
      : t.includes(" ")
        ? t.slice(0, t.lastIndexOf(" "))
        : t.slice(0, max);
  return t.replace(
    /(?:[\s,;:–-]+|\s+(?:a|an|the|and|or|of|to|for|in|on|at|with|when|if|by|from|that|but))+$/i,
    "",
  );
}

function environment(text: string): string[] {
  const found = text.match(
    /\b(?:Safari|Chrome|Firefox|Edge|Opera|iOS|iPadOS|Android|Windows|macOS|Linux)(?: \d+(?:\.\d+)*)?\b/g,
  );
  return [...new Set(found ?? [])];
}

function hasHeading(markdown: string, heading: string): boolean {
  return markdown.split("\n").some(
    (l) =>
      l
        .replace(/^#{1,6}\s+/, "")
        .trim()
        .toLowerCase() === heading.toLowerCase() && /^#/.test(l),
  );
}

/** A paragraph of the user's own words: one line becomes a sentence; Markdown is kept as written. */
function prose(text: string): string {
  const t = text.trim();
  return t.includes("\n") ? t : t && sentence(t);
}

function sentence(text: string): string {
  const t = capitalize(text.trim().replace(/\s+/g, " "));
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

const bullets = (items: string[]) => items.map((i) => `- ${i}`).join("\n");
const article = (word: string) => (/^[aeiou]/i.test(word) ? "an" : "a");
const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
