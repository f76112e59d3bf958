import { monotonicFactory } from "ulid";

const ulid = monotonicFactory();

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
