import type { InsertResult } from "./types";

/** Collapses whitespace the way a reader would. */
export const clean = (text: string | null | undefined) => (text ?? "").replace(/\s+/g, " ").trim();

export const failed = (field: "title" | "description", reason: string): InsertResult => ({
  ok: false,
  field,
  reason,
});

/** Both fields are always attempted; the panel hears of the first that failed. */
export function firstFailure(results: InsertResult[]): InsertResult {
  return results.find((r) => !r.ok) ?? { ok: true };
}
