import {
  type ApiErrorInfo,
  type Balance,
  balanceFromError,
  type Feature,
  type GenerateRequest,
  type IssueType,
} from "@/lib/api";
import type { BackgroundToPanel } from "@/lib/messaging";
import type { PageContext, SiteAdapter } from "@/sites/types";

const FORM_TYPES: readonly string[] = ["bug", "story", "task", "epic"];

/**
 * Errors after which we cannot know whether the Worker finished: Retry sends
 * the same Idempotency-Key, so a finished generation comes back without a
 * second charge. After a definite failure (nothing charged) Retry is a new
 * generation, since the Worker replays a failed key's failure.
 */
const OUTCOME_UNKNOWN = new Set(["stream_interrupted", "network_error", "request_in_progress"]);

/** Whether Retry after this error resends the same generation (same key) rather than a new one. */
export function retriesSameGeneration(error: Pick<ApiErrorInfo, "code"> | null): boolean {
  return OUTCOME_UNKNOWN.has(error?.code ?? "");
}

export interface PanelChoices {
  feature: Feature;
  issueType: IssueType;
  prompt: string;
}

/** The generate request for what the user chose, with what the form already says. */
export function buildRequest(
  adapter: Pick<SiteAdapter, "site" | "readContext">,
  form: Element,
  choices: PanelChoices,
  pageUrl: string,
): GenerateRequest {
  let context: PageContext | null = null;
  try {
    context = adapter.readContext(form);
  } catch {
    // The form changed under us: generate from the prompt alone.
  }
  const formType = context?.issueType?.toLowerCase();
  const issueType =
    choices.issueType === "auto" && formType && FORM_TYPES.includes(formType)
      ? (formType as IssueType)
      : choices.issueType;
  return {
    site: adapter.site,
    feature: choices.feature,
    issueType,
    prompt: choices.prompt.trim(),
    context: {
      title: context?.title ?? "",
      description: context?.description ?? "",
      project: context?.project ?? "",
      url: context?.url ?? pageUrl,
    },
  };
}

/**
 * The balance a background message reports, if any. Whatever a message says
 * is the newest: a 402 says "you have 0" and the badge must agree.
 */
export function reportedBalance(message: BackgroundToPanel): Balance | null {
  if ("tokens" in message && message.tokens) return message.tokens;
  if (message.type === "error") return balanceFromError(message.error);
  return null;
}
