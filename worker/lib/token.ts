import { z } from "zod";
import type { Env, Session } from "../env";
import { isLoopbackHost } from "./loopback";

/**
 * Signed session tokens (docs/decisions/017-access-in-the-object.md):
 * `myba_` + base64url(payload JSON) + "." + base64url(HMAC-SHA256 of the
 * payload part). The Worker verifies one with no I/O; whether the session is
 * still live (not revoked, not expired, the account not blocked or merged) is
 * answered by the account's wallet object, which the request reaches anyway.
 *
 * Opaque tokens (`myba_` + random, no dot) are what a server without a key
 * issues, and what was issued before; they are looked up in D1 as always.
 */

/**
 * Used only when the request's host is a loopback name and no
 * SESSION_SIGNING_KEY is set: a deployed Worker never signs or trusts it.
 */
const DEVELOPMENT_KEY = "myba-development-session-signing-key (loopback only)";

export const claimSchema = z.object({
  sid: z.string().min(1).max(64),
  acc: z.string().min(1).max(64),
  knd: z.enum(["user", "anonymous"]),
  res: z.union([z.literal(0), z.literal(1)]),
  iat: z.number().int().nonnegative(),
});
export type SessionClaim = z.infer<typeof claimSchema>;

/** The key that signs and verifies on this request, or null (opaque tokens, D1 lookups). */
export function signingKey(
  env: Pick<Env, "SESSION_SIGNING_KEY">,
  url: string | URL | undefined,
): string | null {
  if (env.SESSION_SIGNING_KEY) return env.SESSION_SIGNING_KEY;
  return url !== undefined && isLoopbackHost(url) ? DEVELOPMENT_KEY : null;
}

/** Importing a key costs more than an HMAC: one per key per isolate. */
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    keys.set(secret, key);
  }
  return key;
}

export async function signToken(secret: string, claim: SessionClaim): Promise<string> {
  const payload = base64url(new TextEncoder().encode(JSON.stringify(claim)));
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), new TextEncoder().encode(payload));
  return `myba_${payload}.${base64url(new Uint8Array(mac))}`;
}

/** A token in the signed format (it may still be forged: see verifyToken). */
export function isSignedFormat(token: string): boolean {
  return /^myba_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

/**
 * The claim of a token this key signed, or null: not the signed format, a
 * bad signature (forged, tampered, another key) or a payload that is not a
 * claim. The comparison is crypto.subtle.verify's, in constant time.
 */
export async function verifyToken(secret: string, token: string): Promise<SessionClaim | null> {
  if (!isSignedFormat(token)) return null;
  const [payload = "", mac = ""] = token.slice("myba_".length).split(".");
  const macBytes = fromBase64url(mac);
  if (macBytes?.length !== 32) return null;
  const ok = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(secret),
    macBytes,
    new TextEncoder().encode(payload),
  );
  if (!ok) return null;
  const bytes = fromBase64url(payload);
  if (!bytes) return null;
  try {
    const parsed = claimSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function sessionOf(claim: SessionClaim): Session {
  return { id: claim.sid, accountId: claim.acc, kind: claim.knd, resumed: claim.res === 1 };
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array | null {
  try {
    const b64 = text.replaceAll("-", "+").replaceAll("_", "/");
    const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}
