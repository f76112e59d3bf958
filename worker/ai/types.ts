export const SITES = ["jira", "gitlab", "linear", "other"] as const;
export type Site = (typeof SITES)[number];

export const ISSUE_TYPES = ["bug", "story", "task", "epic", "auto"] as const;
export type IssueType = (typeof ISSUE_TYPES)[number];

export type Feature = "generate" | "refine" | "subtasks";

/** What the user asked for, as the prompts and the mock provider see it. */
export interface TicketRequest {
  site: Site;
  feature: Feature;
  issueType: IssueType;
  prompt: string;
  context?: {
    title?: string;
    description?: string;
    project?: string;
    url?: string;
    /** The form's description template (Markdown): page content, filled in its order. */
    template?: string;
  };
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** Token counts the model provider reports at the end of a stream. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** USD, when the provider reports it (OpenRouter's `usage.cost`). */
  costUsd?: number;
}
