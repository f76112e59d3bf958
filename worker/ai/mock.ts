import type { IssueType, Site, TicketRequest } from "./types";

export const MOCK_MODEL = "myba/mock-ticket-writer";

/**
 * The built-in provider used when `OPENROUTER_API_KEY` is absent: a stand-in
 * for `fetch` that answers `/chat/completions` with OpenRouter's SSE bytes,
 * so the mock goes through exactly the parsing, metering and history code a
 * real model does. The ticket is deterministic: the same request always
 * yields the same text.
 */
export function mockFetch(req: TicketRequest): typeof fetch {
  return async () => {
    const text = mockTicket(req);
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

/** A plausible ticket from the request alone, in the site's conventions. */
export function mockTicket(req: TicketRequest): string {
  const subject = subjectOf(req);
  const type = req.issueType === "auto" ? guessType(req.prompt) : req.issueType;
  const task = req.site === "jira" ? "-" : "- [ ]";
  const h = req.site === "gitlab" ? "###" : "##";

  if (req.feature === "subtasks") {
    const steps = [
      `Agree on the scope of "${subject}" with the team`,
      "Implement the change behind a feature flag",
      "Add automated tests for the main and edge cases",
      "Update the documentation and release notes",
      "Roll out and verify in production",
    ];
    const list = req.site === "jira" ? steps.map((s, i) => `${i + 1}. ${s}`) : steps.map((s) => `- [ ] ${s}`);
    return `Title: Subtasks: ${titleOf(req.context?.title || subject, req.site)}\n\n${list.join("\n")}\n`;
  }

  const title =
    req.feature === "refine" && req.context?.title
      ? titleOf(req.context.title, req.site)
      : titleOf(subject, req.site);
  const context =
    req.feature === "refine" && req.context?.description
      ? req.context.description.trim()
      : `${sentence(req.prompt)}${req.context?.project ? ` This concerns the ${req.context.project} project.` : ""}`;
  const sections = sectionsFor(type, subject, context, h);
  const criteria = [
    `${capitalize(subject)} works as described above`,
    "The change is covered by automated tests",
    "No regression in related features",
  ]
    .map((c) => `${task} ${c}`)
    .join("\n");
  return `Title: ${title}\n\n${sections}\n\n${h} Acceptance criteria\n\n${criteria}\n`;
}

function sectionsFor(type: Exclude<IssueType, "auto">, subject: string, context: string, h: string): string {
  switch (type) {
    case "bug":
      return [
        `${h} Summary\n\n${context}`,
        `${h} Steps to reproduce\n\n1. Open the affected page\n2. Try to ${lowerFirst(subject)}\n3. Observe the result`,
        `${h} Expected result\n\n${capitalize(subject)} works without errors.`,
        `${h} Actual result\n\nIt fails, as described in the summary.`,
      ].join("\n\n");
    case "story":
      return [
        `As a user, I want to ${lowerFirst(subject)}, so that my work gets done faster.`,
        `${h} Details\n\n${context}`,
      ].join("\n\n");
    case "epic":
      return [
        `${h} Goal\n\n${context}`,
        `${h} Scope\n\n- Design\n- Implementation\n- Rollout`,
        `${h} Out of scope\n\n- Anything not needed to ${lowerFirst(subject)}`,
      ].join("\n\n");
    default:
      return [`${h} Context\n\n${context}`, `${h} What to do\n\n- ${capitalize(subject)}`].join("\n\n");
  }
}

function subjectOf(req: TicketRequest): string {
  const first = req.prompt.trim().split(/(?<=[.!?])\s|\n/)[0] ?? req.prompt;
  return first.replace(/[.!?]+$/, "").trim() || "Update the product";
}

function titleOf(text: string, site: Site): string {
  const max = site === "linear" ? 70 : 100;
  const t = capitalize(text.replace(/\s+/g, " ").trim());
  return t.length <= max ? t : `${t.slice(0, max - 1).trimEnd()}…`;
}

function guessType(prompt: string): Exclude<IssueType, "auto"> {
  if (/\b(bug|error|crash|broken|fails?|wrong|exception)\b/i.test(prompt)) return "bug";
  if (/\b(as a|user wants|users? can)\b/i.test(prompt)) return "story";
  if (/\b(epic|initiative|roadmap)\b/i.test(prompt)) return "epic";
  return "task";
}

function sentence(text: string): string {
  const t = capitalize(text.trim().replace(/\s+/g, " "));
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function hash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16);
}
