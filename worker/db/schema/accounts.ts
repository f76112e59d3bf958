import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** A person (or an anonymous browser) that owns one wallet. */
export const accounts = sqliteTable(
  "accounts",
  {
    id: text().primaryKey(), // acc_…; also the id of its wallet
    kind: text({ enum: ["anonymous", "user"] }).notNull(),
    email: text(),
    name: text(),
    /** Subscription plan id while a subscription is active. */
    plan: text(),
    status: text({ enum: ["active", "blocked"] })
      .notNull()
      .default("active"),
    /** FingerprintJS visitor id of an anonymous account. */
    visitorId: text(),
    /** Client IP that created an anonymous account (per-IP daily cap). */
    createdIp: text(),
    /** The user account an anonymous account's tokens moved to. */
    mergedInto: text(),
    stripeCustomerId: text(),
    welcomeGrantedAt: integer({ mode: "timestamp_ms" }),
    /** Client address of the sign-in that claimed the welcome bonus (per-address daily cap). */
    welcomeIp: text(),
    firstPaidAt: integer({ mode: "timestamp_ms" }),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
  },
  (t) => [
    uniqueIndex("accounts_visitor_id_unique").on(t.visitorId),
    uniqueIndex("accounts_email_unique").on(t.email),
    index("accounts_created_ip_idx").on(t.createdIp, t.createdAt),
    index("accounts_created_at_idx").on(t.createdAt),
    index("accounts_welcome_ip_idx").on(t.welcomeIp, t.welcomeGrantedAt),
  ],
);

/** Bearer sessions; only the SHA-256 of the token is stored. */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text().primaryKey(), // ses_…
    accountId: text()
      .notNull()
      .references(() => accounts.id),
    tokenHash: text().notNull(),
    kind: text({ enum: ["anonymous", "user"] }).notNull(),
    /**
     * An anonymous session obtained for a visitor id whose account already
     * existed. A visitor id is not a secret, so such a session sees the
     * balance but not the other sessions' tickets, and its sign-in moves no
     * tokens (docs/decisions/009-access.md).
     */
    resumed: integer({ mode: "boolean" }).notNull().default(false),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
    expiresAt: integer({ mode: "timestamp_ms" }).notNull(),
    revokedAt: integer({ mode: "timestamp_ms" }),
  },
  (t) => [
    uniqueIndex("sessions_token_hash_unique").on(t.tokenHash),
    index("sessions_account_idx").on(t.accountId),
  ],
);

/** A verified identity at an OAuth provider, linked to a user account. */
export const identities = sqliteTable(
  "identities",
  {
    id: text().primaryKey(), // idn_…
    accountId: text()
      .notNull()
      .references(() => accounts.id),
    provider: text().notNull(),
    subject: text().notNull(),
    email: text(),
    emailVerified: integer({ mode: "boolean" }).notNull().default(false),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
  },
  (t) => [
    uniqueIndex("identities_provider_subject_unique").on(t.provider, t.subject),
    index("identities_account_idx").on(t.accountId),
  ],
);
