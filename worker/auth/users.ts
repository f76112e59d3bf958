import { and, eq } from "drizzle-orm";
import { db } from "../db/client";
import { accounts, identities } from "../db/schema";
import type { Env } from "../env";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { log } from "../lib/log";
import type { VerifiedIdentity } from "./providers";

export type AccountRow = typeof accounts.$inferSelect;

/** The `account` object of docs/api.md. */
export function accountView(a: AccountRow) {
  return {
    id: a.id,
    kind: a.kind,
    ...(a.email ? { email: a.email } : {}),
    ...(a.name ? { name: a.name } : {}),
    ...(a.plan ? { plan: a.plan } : {}),
  };
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The user behind a provider identity: the one already linked to it, else the
 * user with the same VERIFIED email (the new provider is linked to them), else
 * a new user. An unverified email is kept on the identity only: it never
 * links, and it never claims the account's unique email.
 *
 * Concurrent first sign-ins race on the unique indexes (provider+subject,
 * email); the loser's batch rolls back whole and the next round finds the
 * winner's rows.
 */
export async function findOrCreateUser(
  env: Env,
  namespace: string,
  identity: VerifiedIdentity,
): Promise<AccountRow> {
  const d = db(env.DB);
  const email = identity.emailVerified && identity.email ? normalizeEmail(identity.email) : null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const linked = await d
      .select({ account: accounts })
      .from(identities)
      .innerJoin(accounts, eq(accounts.id, identities.accountId))
      .where(and(eq(identities.provider, namespace), eq(identities.subject, identity.subject)))
      .limit(1);
    if (linked[0]) return linked[0].account;

    const now = new Date();
    const identityRow = {
      id: newId("idn"),
      provider: namespace,
      subject: identity.subject,
      email: identity.email ? normalizeEmail(identity.email) : null,
      emailVerified: identity.emailVerified,
      createdAt: now,
    };

    if (email) {
      const sameEmail = await d.query.accounts.findFirst({
        where: and(eq(accounts.email, email), eq(accounts.kind, "user")),
      });
      if (sameEmail) {
        await d
          .insert(identities)
          .values({ ...identityRow, accountId: sameEmail.id })
          .onConflictDoNothing();
        log("info", "auth.identity_linked", { accountId: sameEmail.id, provider: namespace });
        continue; // read back whichever link won
      }
    }

    const account: AccountRow = {
      id: newId("acc"),
      kind: "user",
      email,
      name: identity.name?.slice(0, 200) || null,
      plan: null,
      status: "active",
      visitorId: null,
      createdIp: null,
      mergedInto: null,
      stripeCustomerId: null,
      welcomeGrantedAt: null,
      welcomeIp: null,
      firstPaidAt: null,
      createdAt: now,
    };
    try {
      await d.batch([
        d.insert(accounts).values(account),
        d.insert(identities).values({ ...identityRow, accountId: account.id }),
      ]);
      return account;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
  throw new ApiError(503, "unavailable", "Signing in collided with another sign-in. Try again.");
}

export function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if (String((e as { message?: unknown }).message ?? "").includes("UNIQUE constraint failed")) return true;
  }
  return false;
}
