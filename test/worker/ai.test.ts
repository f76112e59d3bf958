import { describe, expect, inject, it } from "vitest";
import { mockFetch, mockTicket } from "../../worker/ai/mock";
import { type StreamEvent, streamChat, UpstreamError } from "../../worker/ai/openrouter";
import { MAX_TITLE_CHARS, parseTicket } from "../../worker/ai/parse";
import { buildMessages } from "../../worker/ai/prompts";
import type { TicketRequest } from "../../worker/ai/types";

const request = (over: Partial<TicketRequest> = {}): TicketRequest => ({
  site: "jira",
  feature: "generate",
  issueType: "story",
  prompt: "Let admins export the audit log as CSV",
  ...over,
});

describe("parseTicket", () => {
  it("reads the requested format", () => {
    expect(parseTicket("Title: Export audit log\n\n## Context\n\nAdmins need it.\n")).toEqual({
      title: "Export audit log",
      description: "## Context\n\nAdmins need it.",
    });
  });

  it("tolerates chatter, fences, bold labels and a Description label", () => {
    const raw =
      "Certainly! Here's your ticket:\n\n```markdown\n**Summary:** Export audit log.\n\n**Description:**\n## Context\n\nAdmins need it.\n```\n\nLet me know if you want changes.";
    expect(parseTicket(raw)).toEqual({
      title: "Export audit log",
      description: "## Context\n\nAdmins need it.",
    });
  });

  it("keeps code fences that belong to the description", () => {
    const raw = "Title: Crash on save\n\n## Stack trace\n\n```\nTypeError: x is undefined\n```";
    expect(parseTicket(raw).description).toBe("## Stack trace\n\n```\nTypeError: x is undefined\n```");
  });

  it("falls back to the first line or heading without a label", () => {
    expect(parseTicket("# Export audit log\n\nAdmins need it.")).toEqual({
      title: "Export audit log",
      description: "Admins need it.",
    });
    expect(parseTicket("Sure, here it is:\nExport audit log\nAdmins need it.").title).toBe(
      "Export audit log",
    );
  });

  it("caps the title length and handles empty output", () => {
    expect(parseTicket(`Title: ${"a".repeat(400)}\n\nx`).title.length).toBe(MAX_TITLE_CHARS);
    expect(parseTicket("")).toEqual({ title: "", description: "" });
  });
});

describe("prompts", () => {
  const system = (over: Partial<TicketRequest>) => buildMessages(request(over))[0]?.content ?? "";

  it("follows each site's conventions", () => {
    expect(system({ site: "jira" })).toMatch(/Jira.*summary/s);
    expect(system({ site: "jira" })).toContain("Acceptance criteria");
    expect(system({ site: "jira" })).toMatch(/Do not use task-list checkboxes/);
    expect(system({ site: "gitlab" })).toMatch(/GitLab Flavored Markdown.*- \[ \]/s);
    expect(system({ site: "linear" })).toMatch(/Linear.*concise.*70 characters/s);
  });

  it("shapes the description by issue type", () => {
    expect(system({ issueType: "bug" })).toMatch(/steps to reproduce/);
    expect(system({ issueType: "story" })).toMatch(/As a <who>/);
    expect(system({ issueType: "epic" })).toMatch(/out of scope/);
  });

  it("refine works from the page's current ticket; subtasks asks for a checklist", () => {
    const refine = buildMessages(
      request({ feature: "refine", context: { title: "export", description: "csv pls", project: "OPS" } }),
    );
    expect(refine[0]?.content).toMatch(/Improve the ticket currently in the form/);
    expect(refine[1]?.content).toContain("<current_ticket>\nTitle: export\n\ncsv pls\n</current_ticket>");
    expect(refine[1]?.content).toContain("Project: OPS");
    expect(system({ feature: "subtasks", site: "gitlab" })).toMatch(/3 to 8 subtasks.*- \[ \] subtask/s);
    expect(system({ feature: "subtasks", site: "jira" })).toMatch(/numbered list/);
  });

  it("tells the model page content is data, not instructions", () => {
    expect(system({})).toMatch(/not instructions/);
  });
});

describe("mock provider", () => {
  it("is deterministic and follows the site and type", () => {
    const gitlabBug = mockTicket(
      request({ site: "gitlab", issueType: "bug", prompt: "Save button does nothing" }),
    );
    expect(gitlabBug).toBe(
      mockTicket(request({ site: "gitlab", issueType: "bug", prompt: "Save button does nothing" })),
    );
    expect(parseTicket(gitlabBug).title).toBe("Save button does nothing");
    expect(gitlabBug).toContain("### Steps to reproduce");
    expect(gitlabBug).toContain("- [ ] ");
    expect(mockTicket(request({ site: "jira" }))).not.toContain("- [ ]");
    expect(mockTicket(request({ issueType: "story" }))).toContain("As a user, I want to let admins export");
    expect(
      parseTicket(mockTicket(request({ feature: "subtasks", context: { title: "Audit export" } }))).title,
    ).toBe("Subtasks: Audit export");
  });

  it("speaks OpenRouter's SSE format through the real client", async () => {
    const events = await collect(
      streamChat({
        baseUrl: "https://openrouter.invalid/api/v1",
        apiKey: "mock",
        models: ["myba/mock"],
        messages: [],
        maxTokens: 100,
        fetch: mockFetch(request()),
      }),
    );
    const text = events.flatMap((e) => (e.type === "delta" ? [e.text] : [])).join("");
    expect(text).toBe(mockTicket(request()));
    expect(events.at(-1)).toMatchObject({
      type: "usage",
      usage: { outputTokens: Math.ceil(text.length / 4) },
    });
  });
});

describe("streamChat against the fake OpenRouter", () => {
  const base = () => `${inject("fakes").openrouter}/api/v1`;
  const chat = (models: string[], over = {}) =>
    streamChat({
      baseUrl: base(),
      apiKey: `k-${crypto.randomUUID()}`,
      models,
      messages: [],
      maxTokens: 50,
      ...over,
    });

  it("yields the model, the deltas and the final usage, skipping comments", async () => {
    const events = await collect(chat(["fake/ok"]));
    expect(events[0]).toEqual({ type: "model", model: "fake/ok" });
    expect(events.at(-1)).toEqual({
      type: "usage",
      usage: { inputTokens: 412, outputTokens: 120, costUsd: 0.00021 },
    });
  });

  it("reports each failure as an UpstreamError of its kind", async () => {
    const kind = async (model: string, over = {}) => {
      try {
        await collect(chat([model], over));
        return "none";
      } catch (e) {
        return e instanceof UpstreamError ? `${e.kind}${e.status ? `:${e.status}` : ""}` : String(e);
      }
    };
    expect(await kind("fake/429")).toBe("http:429");
    expect(await kind("fake/500")).toBe("http:500");
    expect(await kind("fake/error-mid")).toBe("stream_error");
    expect(await kind("fake/cut")).toBe("stream_cut");
    expect(await kind("fake/stall", { stallTimeoutMs: 200 })).toBe("timeout");
    expect(await kind("fake/ok", { baseUrl: "http://127.0.0.1:9/api/v1" })).toBe("network");
  });

  it("stops at once when the caller aborts", async () => {
    const abort = new AbortController();
    const started = Date.now();
    const events: StreamEvent[] = [];
    await expect(async () => {
      for await (const e of chat(["fake/slow"], { signal: abort.signal })) {
        events.push(e);
        if (e.type === "delta") abort.abort();
      }
    }).rejects.toMatchObject({ kind: "aborted" });
    expect(events.filter((e) => e.type === "delta")).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const e of stream) events.push(e);
  return events;
}
