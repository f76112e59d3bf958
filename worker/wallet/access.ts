import {
  type MemberRow,
  readMember,
  readMembers,
  readOwner,
  readSession,
  type SessionRow,
  TEAM_WALLET,
} from "./access-source";
import { fail } from "./failures";
import type { AccessMember, MemberArgs, WalletFailure } from "./types";

/**
 * Who may spend from this wallet, answered from the object's own storage
 * (SCHEMA v6: owner_state, sessions, members) instead of D1 on the hot path
 * (docs/decisions/017-access-in-the-object.md).
 *
 * Each piece is loaded from D1 once, the first time a request needs it, and
 * then kept current by the routes that change it (the pushes below). Loads
 * and pushes may cross: a load that read D1 before a change can land after
 * the change's push. So a load never overwrites what a push wrote:
 * - sessions merge monotonically (revoked stays revoked, expiry only grows);
 * - owner state and members are inserted by a load only where no row is;
 *   a push first makes sure the row is there (loading it), then sets it;
 *   owner state no push touched for OWNER_REFRESH_MS is read again, and the
 *   read is dropped if a push landed meanwhile;
 * - a removed member stays as a `removed` row, so a late load cannot bring
 *   them back.
 * Requests that find the same piece missing share one read (`once`); the
 * reads themselves are in access-source.ts.
 * Every push is a set, not a delta: sending it twice changes nothing more.
 */

const DAY_MS = 24 * 60 * 60 * 1000;
/** The role a removed member keeps here: a tombstone, never a member. */
const REMOVED = "removed";

interface OwnerRow extends Record<string, SqlStorageValue> {
  account_id: string;
  status: string;
  merged: number;
  plan: string | null;
  updated_at: number;
}

export interface OpenedSession {
  id: string;
  kind: "user" | "anonymous";
  resumed: boolean;
  /** Epoch ms. */
  expiresAt: number;
  createdAt: number;
}

export interface OwnerChange {
  status?: "active" | "blocked";
  /** Merged is for good: an anonymous account whose tokens moved to a user. */
  merged?: boolean;
  plan?: string | null;
}

export type MemberChange =
  | { accountId: string; role: string; monthlyLimit: number | null }
  | {
      accountId: string;
      removed: true;
    };

const unknownSession = () => fail("unauthorized", "The session is invalid, expired or revoked.");

type Transact = <T>(fn: () => T) => T;

/** How long the owner's state is trusted without a push before D1 is read again (ensureOwner). */
export const OWNER_REFRESH_MS = 10 * 60_000;

export class Access {
  private readonly loading = new Map<string, Promise<void>>();
  /** Owner-state pushes applied by this instance: a background read older than one is dropped. */
  private ownerPushes = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly d1: D1Database,
    private readonly transact: Transact,
    private readonly walletId: () => string | null,
    private readonly meta: { get: (k: string) => string | null; set: (k: string, v: string) => void },
  ) {}

  // ── loads (before a transaction, never inside one) ─────────────────────

  /**
   * Makes sure the session and the owner's state are here, reading D1 once
   * for what is missing. A session that looks expired but not revoked is
   * read again: a renewal's push may have been lost on its way here.
   */
  async ensureSession(session: { id: string; accountId: string }, now = Date.now()): Promise<void> {
    if (session.accountId !== this.walletId()) return; // checkSession refuses it
    const row = this.session(session.id);
    const needSession = !row || (row.revoked_at === null && row.expires_at <= now);
    // Both reads at once: a first request to this object waits one D1 round trip.
    await Promise.all([
      needSession ? this.once(`session:${session.id}`, () => this.loadSession(session.id)) : null,
      this.ensureOwner(now),
    ]);
  }

  /**
   * The owner's state (status, merged, plan), read from D1 once, then kept
   * by the pushes. State no push has touched for OWNER_REFRESH_MS is read
   * again in the background (this request answers from what is here), so a
   * push lost on its way (a plan change's is only logged) heals.
   */
  async ensureOwner(now: number): Promise<void> {
    const owner = this.owner();
    if (!owner) {
      await this.once("owner", () => this.loadOwner());
      return;
    }
    if (owner.updated_at <= now - OWNER_REFRESH_MS) {
      this.once("owner-refresh", () => this.refreshOwner(now)).catch(() => undefined);
    }
  }

  private async loadOwner(): Promise<void> {
    const walletId = this.walletId();
    const state = walletId ? await readOwner(this.d1, walletId) : null;
    // No account (yet): nothing to remember; checkSession refuses.
    if (walletId && state) this.insertOwner(walletId, state.status, state.merged, state.plan);
  }

  /** D1's view replaces this object's, unless a push came while it was read (the push is newer). */
  private async refreshOwner(now: number): Promise<void> {
    const walletId = this.walletId();
    const pushes = this.ownerPushes;
    const state = walletId ? await readOwner(this.d1, walletId) : null;
    if (!state || this.ownerPushes !== pushes) return;
    this.sql.exec(
      "UPDATE owner_state SET status = ?, merged = max(merged, ?), plan = ?, updated_at = ?",
      state.status,
      state.merged ? 1 : 0,
      state.plan,
      now,
    );
  }

  /**
   * A team wallet's members, read from D1 once. With `accountId`, that one
   * member is read again if this object has never heard of them (a join's
   * push lost on its way): only a request from a non-member pays that read.
   */
  async ensureMembers(accountId?: string): Promise<void> {
    const walletId = this.walletId();
    if (!walletId || !TEAM_WALLET.test(walletId)) return;
    if (this.meta.get("members_loaded") !== "1") {
      await this.once("members", () => this.loadMembers(walletId));
      return;
    }
    if (accountId === undefined || this.memberRow(accountId)) return;
    await this.once(`member:${accountId}`, () => this.loadMember(walletId, accountId));
  }

  private async loadMembers(walletId: string): Promise<void> {
    const rows = await readMembers(this.d1, walletId);
    this.transact(() => {
      for (const m of rows) this.insertMember(m);
      this.meta.set("members_loaded", "1");
    });
  }

  private async loadMember(walletId: string, accountId: string): Promise<void> {
    const m = await readMember(this.d1, walletId, accountId);
    if (m) this.insertMember(m);
  }

  // ── what the wallet's RPCs run (wallet.ts keeps them thin) ─────────────

  /** ensureSession + checkSession, for callers that only need the check. */
  async authorize(session: { id: string; accountId: string }, now: number) {
    if (session.accountId !== this.walletId()) return unknownSession();
    await this.ensureSession(session, now);
    const refused = this.checkSession(session.id, now);
    if (refused) return refused;
    return { ok: true as const, expiresAt: this.sessionExpiry(session.id) ?? 0, plan: this.plan() };
  }

  async pushOwnerState(change: OwnerChange, now: number): Promise<void> {
    await this.ensureOwner(now);
    this.setOwnerState(change, now);
  }

  async pushMember(change: MemberChange, now: number): Promise<void> {
    await this.ensureMembers();
    this.setMember(change, now);
  }

  // ── checks (synchronous: inside the caller's transaction) ──────────────

  /**
   * Null when the session may spend from this wallet now; otherwise why not,
   * in the order today's routes answer: unknown/revoked/expired, blocked
   * (which wins over merged), merged.
   */
  checkSession(sessionId: string, now: number): WalletFailure | null {
    const s = this.session(sessionId);
    if (!s || s.revoked_at !== null || s.expires_at <= now || s.created_at <= this.revokedBefore()) {
      return unknownSession();
    }
    const owner = this.owner();
    if (!owner) return unknownSession();
    if (owner.status === "blocked") {
      return fail("account_blocked", "This account is blocked. Contact support.");
    }
    if (owner.merged) {
      return fail(
        "account_merged",
        "This browser's tokens moved to your signed-in account. Sign in to continue.",
      );
    }
    return null;
  }

  /** When the session expires here (epoch ms), or null if unknown. */
  sessionExpiry(sessionId: string): number | null {
    return this.session(sessionId)?.expires_at ?? null;
  }

  /** A team member's role and monthly limit, or null (never a member, or removed). */
  member(accountId: string): AccessMember | null {
    const m = this.memberRow(accountId);
    if (!m || m.role === REMOVED) return null;
    return { role: m.role, monthlyLimit: m.monthly_limit };
  }

  /** A reserve's member from this wallet's own members, or `not_a_member`. */
  memberArgs(accountId: string): MemberArgs | WalletFailure {
    const m = this.member(accountId);
    if (!m) return fail("not_a_member", "You are not a member of that team.");
    return { accountId, monthlyLimit: m.monthlyLimit };
  }

  /** The plan whose features spending from this wallet gets (null: none, or not loaded). */
  plan(): string | null {
    return this.owner()?.plan ?? null;
  }

  // ── pushes from the routes that change who may spend ───────────────────

  sessionOpened(s: OpenedSession): void {
    this.sql.exec(
      `INSERT INTO sessions (id, kind, resumed, expires_at, revoked_at, created_at)
       VALUES (?, ?, ?, ?, NULL, ?)
       ON CONFLICT (id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
      s.id,
      s.kind,
      s.resumed ? 1 : 0,
      s.expiresAt,
      s.createdAt,
    );
  }

  /**
   * Revoked for good, whether or not this object had seen the session. With
   * null, every session opened up to `at` (an admin's "revoke all"): one mark
   * here covers the sessions this object has not loaded yet.
   */
  sessionRevoked(sessionId: string | null, at: number): void {
    if (sessionId === null) {
      this.transact(() => {
        this.meta.set("sessions_revoked_before", String(Math.max(this.revokedBefore(), at)));
        this.sql.exec(
          "UPDATE sessions SET revoked_at = coalesce(revoked_at, ?) WHERE created_at <= ?",
          at,
          at,
        );
      });
      return;
    }
    this.sql.exec(
      `INSERT INTO sessions (id, kind, resumed, expires_at, revoked_at, created_at)
       VALUES (?, 'user', 0, 0, ?, ?)
       ON CONFLICT (id) DO UPDATE SET revoked_at = coalesce(revoked_at, excluded.revoked_at)`,
      sessionId,
      at,
      at,
    );
  }

  /** A renewal only moves expiry later; an unseen session is loaded on its next use. */
  sessionRenewed(sessionId: string, expiresAt: number): void {
    this.sql.exec("UPDATE sessions SET expires_at = max(expires_at, ?) WHERE id = ?", expiresAt, sessionId);
  }

  /** Call after ensureOwner(): sets what is given, keeps the rest. */
  setOwnerState(change: OwnerChange, now: number): void {
    if (!this.owner()) return; // no such account in D1 either
    this.ownerPushes++;
    this.sql.exec(
      `UPDATE owner_state SET status = coalesce(?, status), merged = max(merged, ?),
         plan = CASE WHEN ? THEN ? ELSE plan END, updated_at = ?`,
      change.status ?? null,
      change.merged ? 1 : 0,
      change.plan !== undefined ? 1 : 0,
      change.plan ?? null,
      now,
    );
  }

  /** Call after ensureMembers(): a member's role and limit, or their removal (kept as a tombstone). */
  setMember(change: MemberChange, now: number): void {
    const removed = "removed" in change;
    this.sql.exec(
      `INSERT INTO members (account_id, role, monthly_limit, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (account_id) DO UPDATE SET role = excluded.role,
         monthly_limit = excluded.monthly_limit, updated_at = excluded.updated_at`,
      change.accountId,
      removed ? REMOVED : change.role,
      removed ? null : change.monthlyLimit,
      now,
    );
  }

  /**
   * Drops sessions expired for a day (the alarm's sweep): D1 has them
   * expired too, so nothing a later load brings back could spend. An
   * anonymous account gets a session per visit; this keeps the table small.
   * A revocation of a session this object never saw (expires_at 0) stays.
   */
  forgetExpired(now: number): void {
    this.sql.exec("DELETE FROM sessions WHERE expires_at > 0 AND expires_at < ?", now - DAY_MS);
  }

  // ── rows ───────────────────────────────────────────────────────────────

  /**
   * One D1 read at a time per piece: requests arriving together while it is
   * missing wait for the same read instead of each sending their own.
   */
  private once(key: string, load: () => Promise<void>): Promise<void> {
    let pending = this.loading.get(key);
    if (!pending) {
      pending = load().finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  private async loadSession(sessionId: string): Promise<void> {
    const row = await readSession(this.d1, sessionId, this.walletId());
    if (!row) return;
    this.sql.exec(
      `INSERT INTO sessions (id, kind, resumed, expires_at, revoked_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at),
         revoked_at = coalesce(revoked_at, excluded.revoked_at)`,
      row.id,
      row.kind,
      row.resumed ? 1 : 0,
      row.expires_at,
      row.revoked_at,
      row.created_at,
    );
  }

  private insertOwner(accountId: string, status: string, merged: boolean, plan: string | null): void {
    this.sql.exec(
      `INSERT INTO owner_state (id, account_id, status, merged, plan, updated_at) VALUES (1, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
      accountId,
      status,
      merged ? 1 : 0,
      plan,
      Date.now(),
    );
  }

  private insertMember(m: MemberRow): void {
    this.sql.exec(
      `INSERT INTO members (account_id, role, monthly_limit, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (account_id) DO NOTHING`,
      m.account_id,
      m.role,
      m.monthly_limit,
      Date.now(),
    );
  }

  private revokedBefore(): number {
    return Number(this.meta.get("sessions_revoked_before") ?? 0);
  }

  private session(id: string): SessionRow | null {
    return this.sql.exec<SessionRow>("SELECT * FROM sessions WHERE id = ?", id).toArray()[0] ?? null;
  }

  private owner(): OwnerRow | null {
    return this.sql.exec<OwnerRow>("SELECT * FROM owner_state WHERE id = 1").toArray()[0] ?? null;
  }

  private memberRow(accountId: string): MemberRow | null {
    return (
      this.sql
        .exec<MemberRow>(
          "SELECT account_id, role, monthly_limit FROM members WHERE account_id = ?",
          accountId,
        )
        .toArray()[0] ?? null
    );
  }
}
