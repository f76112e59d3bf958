import type { Feature, IssueType } from "@/lib/api";

/** What the panel's choices offer, and the limits it checks before sending. */

export const MAX_PROMPT = 4000;
/** At or below this many tokens the balance turns amber. */
export const LOW_BALANCE = 2;
/** Until /api/plans answers, what each feature is known to cost. */
export const DEFAULT_COSTS: Record<Feature, number> = { generate: 1, refine: 1, subtasks: 2 };

export const ISSUE_TYPES: { value: IssueType; label: string }[] = [
  { value: "auto", label: "Auto-detect" },
  { value: "bug", label: "Bug" },
  { value: "story", label: "Story" },
  { value: "task", label: "Task" },
  { value: "epic", label: "Epic" },
];

export const FEATURES: { value: Feature; label: string }[] = [
  { value: "generate", label: "Write a ticket" },
  { value: "refine", label: "Refine what is in the form" },
  { value: "subtasks", label: "Split into subtasks" },
];

export const HINTS: Record<Feature, string> = {
  generate: "Describe the work in a sentence or two: who is affected, what should change, and why.",
  refine: "MyBA rewrites the title and description already in the form. Say what to improve.",
  subtasks: "MyBA breaks the work into a checklist of subtasks. Add any constraints.",
};
