import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { accounts, sessions } from "./accounts";

/**
 * A sign-in started by the extension (`GET /auth/:provider/start`) and not yet
 * finished by the provider's callback. The state we send to the provider is
 * stored only as a hash; our own PKCE verifier toward the provider must be
 * kept in clear to redeem the provider's code.
 */
export const authRequests = sqliteTable(
  "auth_requests",
  {
    id: text().primaryKey(), // req_…
    provider: text().notNull(),
    stateHash: text().notNull(),
    providerVerifier: text().notNull(),
    /** Our callback URL as sent to the provider; the token request must repeat it. */
    callbackUrl: text().notNull(),
    /** The extension's redirect URL, its state and its S256 code challenge. */
    redirectUri: text().notNull(),
    clientState: text().notNull(),
    codeChallenge: text().notNull(),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
    expiresAt: integer({ mode: "timestamp_ms" }).notNull(),
    consumedAt: integer({ mode: "timestamp_ms" }),
  },
  (t) => [
    uniqueIndex("auth_requests_state_hash_unique").on(t.stateHash),
    index("auth_requests_expires_idx").on(t.expiresAt),
  ],
);

/**
 * A one-time MyBA code handed to the extension's redirect URL; `POST
 * /auth/token` trades it with the matching PKCE verifier for a session.
 */
export const authCodes = sqliteTable(
  "auth_codes",
  {
    id: text().primaryKey(), // cod_…
    codeHash: text().notNull(),
    accountId: text()
      .notNull()
      .references(() => accounts.id),
    codeChallenge: text().notNull(),
    createdAt: integer({ mode: "timestamp_ms" }).notNull(),
    expiresAt: integer({ mode: "timestamp_ms" }).notNull(),
    usedAt: integer({ mode: "timestamp_ms" }),
    /** The session the code was traded for: revoked if the code is replayed. */
    sessionId: text().references(() => sessions.id),
    /** Set when someone presented the code again after it was used. */
    replayedAt: integer({ mode: "timestamp_ms" }),
  },
  (t) => [
    uniqueIndex("auth_codes_code_hash_unique").on(t.codeHash),
    index("auth_codes_expires_idx").on(t.expiresAt),
  ],
);
