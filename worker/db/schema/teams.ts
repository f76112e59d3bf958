import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const TEAM_ROLES = ["owner", "admin", "member"] as const;
export type TeamRole = (typeof TEAM_ROLES)[number];

/** A group of signed-in users sharing one wallet (addressed by the team id). */
export const teams = sqliteTable(
  "teams",
  {
    id: text().primaryKey(), // team_… ; also the id of its wallet
    name: text().notNull(),
    stripeCustomerId: text(),
    createdBy: text().notNull(), // account id
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("teams_created_at_idx").on(t.createdAt)],
);

/** Who belongs to a team. A removed member's row is deleted: "is a member" = a row exists. */
export const teamMembers = sqliteTable(
  "team_members",
  {
    teamId: text().notNull(),
    accountId: text().notNull(),
    role: text({ enum: TEAM_ROLES }).notNull(),
    monthlyLimit: integer(), // null = no limit
    joinedAt: integer({ mode: "timestamp_ms" }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.teamId, t.accountId] }),
    index("team_members_account_idx").on(t.accountId),
  ],
);

/**
 * Single-use invite codes. Only the SHA-256 of the code is stored, like
 * session tokens: a leaked table admits nobody.
 */
export const teamInvites = sqliteTable(
  "team_invites",
  {
    id: text().primaryKey(), // inv_…
    teamId: text().notNull(),
    codeHash: text().notNull(),
    /** When set, only a user with this verified email may join. Stored lower-case. */
    email: text(),
    role: text({ enum: ["admin", "member"] }).notNull(),
    monthlyLimit: integer(),
    createdBy: text().notNull(),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
    expiresAt: integer({ mode: "timestamp_ms" }).notNull(),
    usedBy: text(),
    usedAt: integer({ mode: "timestamp_ms" }),
  },
  (t) => [
    uniqueIndex("team_invites_code_hash_unique").on(t.codeHash),
    index("team_invites_team_idx").on(t.teamId),
  ],
);
