/**
 * Reading the Stripe fields the Worker uses. A signed event we cannot read
 * is Stripe's side or an API version change: it is refused with 400 and not
 * recorded, so a redelivery after a fix can still take effect.
 */

/** A payload we cannot read (a signed event, so Stripe's side or an API version change). */
export class UnreadableEvent extends Error {}

export function asRecord(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw new UnreadableEvent("expected an object");
  return v as Record<string, unknown>;
}

export function str(v: unknown, field: string): string {
  if (typeof v !== "string" || v === "") throw new UnreadableEvent(`${field} must be a string`);
  return v;
}

export function optStr(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

export function int(v: unknown, field: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0)
    throw new UnreadableEvent(`${field} must be a whole number`);
  return v as number;
}

/** A Stripe reference: either the id or the expanded object. */
export function idOf(v: unknown): string | null {
  if (typeof v === "string" && v !== "") return v;
  if (v && typeof v === "object" && typeof (v as { id?: unknown }).id === "string")
    return (v as { id: string }).id;
  return null;
}
