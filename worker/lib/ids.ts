import { monotonicFactory } from "ulid";

/**
 * ulid's default source asks the platform for one random byte per character
 * (16 calls per id, each a trip into the runtime); this one draws the same
 * kind of byte from a buffer refilled 256 bytes at a time.
 */
const pool = new Uint8Array(256);
let used = pool.length;
function randomFraction(): number {
  if (used === pool.length) {
    crypto.getRandomValues(pool);
    used = 0;
  }
  return (pool[used++] as number) / 256;
}

const ulid = monotonicFactory(randomFraction);

/** Type-prefixed ids (`acc_…`, `gen_…`), time-sortable so cursors follow creation order. */
export type IdPrefix =
  | "acc"
  | "ses"
  | "idn"
  | "gen"
  | "txn"
  | "grt"
  | "hld"
  | "pur"
  | "aud"
  | "evt"
  | "req"
  | "cod"
  | "team"
  | "inv";

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid().toLowerCase()}`;
}

/** A random URL-safe secret of `bytes` bytes (session tokens, codes). */
export function randomToken(bytes = 32): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...buf))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** Hex SHA-256, used to store secrets (session tokens) only as hashes. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
