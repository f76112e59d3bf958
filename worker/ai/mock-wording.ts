/**
 * The mock's wording: variant 0 is the reference wording, and every other
 * variant (one per Idempotency-Key) varies the canned phrases like a model
 * would, without adding facts.
 */

/** The wording a variant picks: variant 0 is the reference wording; others vary it like a model would. */
export interface Wording {
  workaround: string;
  whereStep: string;
  repeatStep: string;
  expected: string;
  expectedTopic: string;
  related: string;
  retryCriterion: string;
  confirmed: string;
  tests: string;
  firstVersion: string;
  subtaskStep: (step: string) => string;
  openQuestion: (section: string) => string;
}

const WORDINGS: { [K in keyof Wording]: Wording[K][] } = {
  workaround: [
    "so that I no longer need a workaround",
    "so that I can do it without a workaround",
    "so that this no longer slows me down",
    "so that I can rely on it every day",
  ],
  whereStep: [
    "Go to the screen where the problem shows up",
    "Open the screen where it happens",
    "Navigate to where the problem appears",
  ],
  repeatStep: [
    "Repeat the action that triggers it",
    "Do what triggers the problem again",
    "Trigger the same action once more",
  ],
  expected: [
    "The action completes as designed, with no error.",
    "It works as designed and shows no error.",
    "The action succeeds without any error.",
  ],
  expectedTopic: [
    "works as designed, with no error.",
    "behaves as designed and shows no error.",
    "works without any error.",
  ],
  related: [
    "Related flows behave as before",
    "Nearby features keep working as before",
    "No regression in related features",
  ],
  retryCriterion: [
    "Given something fails midway, when I retry, then no data is lost or duplicated",
    "Given the action fails halfway, when I try again, then nothing is lost or done twice",
    "Given an error interrupts it, when I retry, then my data stays intact",
  ],
  confirmed: [
    "The people who asked for it confirm the goal is met",
    "The requesters confirm the goal is reached",
    "Stakeholders agree the goal is met",
  ],
  tests: [
    "Cover the change with automated tests",
    "Add automated tests for the change",
    "Write tests that cover the change",
  ],
  firstVersion: [
    "Build a first usable version",
    "Ship a first version people can use",
    "Deliver a usable first iteration",
  ],
  subtaskStep: [(s) => s, (s) => s.replace(/^Find and fix/, "Locate and fix"), (s) => s],
  openQuestion: [
    (section) => `Open question: the request does not say (${section.toLowerCase()}).`,
    (section) => `Open question: what belongs under "${section}"? The request does not say.`,
    (section) => `Open question: ${section.toLowerCase()} is not covered by the request yet.`,
  ],
};

/** One wording per variant; each phrase is chosen independently, so variants rarely coincide. */
export function wording(variant: number): Wording {
  const pick = <T>(slot: string, options: T[]): T =>
    (variant === 0
      ? options[0]
      : options[Number.parseInt(hash(`${variant}:${slot}`), 16) % options.length]) as T;
  return Object.fromEntries(
    Object.entries(WORDINGS).map(([k, v]) => [k, pick(k, v as unknown[])]),
  ) as unknown as Wording;
}

/** The mock's variant for a request: from its Idempotency-Key, so a regenerate (a new key) reads differently. */
export function mockVariant(idempotencyKey: string): number {
  return (Number.parseInt(hash(idempotencyKey), 16) % 1_000_000) + 1;
}

/**
 * The thing a bug report's title names, when it says plainly what fails
 * ("Export to CSV drops the last row" → "export to CSV"); not people or a
 * whole clause.
 */
export function topicOf(title: string): string | undefined {
  const m =
    /^(.+?)\s+(?:drops?|fails?|crash(?:es)?|breaks?|loops?|freezes?|hangs?|does(?:n't| not)?|is|are|shows?|returns?|throws?|won't|doesn't|never)\b/i.exec(
      title,
    );
  const subject = m?.[1]?.trim();
  if (!subject || subject.split(/\s+/).length > 5) return undefined;
  if (/^(?:users?|customers?|admins?|people|i|we|they|it|this|that|the app)\b/i.test(subject))
    return undefined;
  return lowerFirst(subject.replace(/^(?:the|a|an)\s+/i, ""));
}

/** Lower-cases an opening word, but not an acronym ("CSV") or "I". */
export const lowerFirst = (s: string) => (/^[A-Z][a-z]/.test(s) ? s.charAt(0).toLowerCase() + s.slice(1) : s);

export function hash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16);
}
