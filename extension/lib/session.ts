import {
  type Api,
  ApiError,
  type Balance,
  CONSENT_REQUIRED,
  type Me,
  type SessionGrant,
  SIGN_IN_REQUIRED,
  type SignInResult,
  VISITOR_ID_REQUIRED,
} from "./api";
import { accountItem, consentItem, type StoredSession, sessionItem, visitorIdItem } from "./storage";

export { VISITOR_ID_REQUIRED };

/**
 * The background's session: anonymous until the user signs in, and back to
 * anonymous whenever the Worker says the token is no longer good (expired or
 * revoked). A browser whose anonymous tokens moved to a user gets its
 * anonymous account back, empty: it shows 0 and spending answers 403
 * `sign_in_required`, which the views turn into "Sign in to continue".
 */
export class SessionManager {
  private bootstrapping: Promise<StoredSession> | null = null;

  constructor(private readonly getApi: () => Promise<Api>) {}

  /**
   * Remembers the visitor id a view computed; the next bootstrap uses it.
   * Refused until the user accepted the device identifier (decision 015).
   */
  async setVisitorId(visitorId: string): Promise<void> {
    if ((await consentItem.getValue())?.choice !== "accepted") {
      throw new ApiError(0, CONSENT_REQUIRED, "The device identifier is used only once the user accepts it.");
    }
    if (visitorId && visitorId !== (await visitorIdItem.getValue())) await visitorIdItem.setValue(visitorId);
  }

  async current(): Promise<StoredSession | null> {
    return sessionItem.getValue();
  }

  /** The stored session, or a new anonymous one. */
  async ensure(): Promise<StoredSession> {
    return (await sessionItem.getValue()) ?? this.startAnonymous();
  }

  /**
   * Runs `call` with the session token. A 401 means the token is dead: drop
   * it, fall back to an anonymous session and run the call once more.
   */
  async withToken<T>(call: (token: string) => Promise<T>): Promise<T> {
    const session = await this.ensure();
    try {
      return await call(session.token);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      await this.forget(session.token);
      const fresh = await this.startAnonymous();
      return call(fresh.token);
    }
  }

  /** GET /api/me, cached for views that want a balance at once. */
  async refresh(): Promise<Me> {
    const api = await this.getApi();
    const me = await this.withToken((token) => api.me(token));
    await cache(me);
    return me;
  }

  /**
   * Finishes a sign-in: `exchange` calls /auth/token or /auth/dev-login with
   * the current anonymous token, so the Worker moves the anonymous tokens to
   * the user; the user's session then replaces the anonymous one.
   */
  async signIn(
    exchange: (anonymousToken: string | undefined) => Promise<SignInResult>,
  ): Promise<SignInResult> {
    const current = await sessionItem.getValue();
    const anonymousToken = current?.kind === "anonymous" ? current.token : undefined;
    const result = await exchange(anonymousToken);
    await adopt(result, "user");
    return result;
  }

  /**
   * Revokes the session on the Worker (best effort) and returns to
   * anonymous; null when the Worker refuses this browser an anonymous session
   * (older Workers answer 403 `sign_in_required` once its tokens moved):
   * signed out, sign in to continue.
   */
  async signOut(): Promise<Me | null> {
    const current = await sessionItem.getValue();
    if (current) {
      const api = await this.getApi();
      await api.logout(current.token).catch(() => {});
      await this.forget(current.token);
    }
    try {
      await this.startAnonymous();
    } catch (err) {
      // No anonymous session to return to: its tokens moved, or the user chose
      // to sign in without the device identifier (decision 015).
      if (err instanceof ApiError && (err.code === SIGN_IN_REQUIRED || err.code === VISITOR_ID_REQUIRED))
        return null;
      throw err;
    }
    return this.refresh();
  }

  /** Clears `token` unless another call already replaced it. */
  private async forget(token: string): Promise<void> {
    const now = await sessionItem.getValue();
    if (now?.token === token) {
      await sessionItem.setValue(null);
      await accountItem.setValue(null);
    }
  }

  /** One anonymous bootstrap at a time, however many views ask at once. */
  private startAnonymous(): Promise<StoredSession> {
    this.bootstrapping ??= (async () => {
      try {
        const existing = await sessionItem.getValue();
        if (existing) return existing;
        const visitorId = await visitorIdItem.getValue();
        if (!visitorId) {
          throw new ApiError(
            0,
            VISITOR_ID_REQUIRED,
            "The browser's visitor id is needed to start a session.",
          );
        }
        const api = await this.getApi();
        return await adopt(await api.anonymous(visitorId), "anonymous");
      } finally {
        this.bootstrapping = null;
      }
    })();
    return this.bootstrapping;
  }
}

async function adopt(grant: SessionGrant, kind: StoredSession["kind"]): Promise<StoredSession> {
  const session: StoredSession = { token: grant.token, kind, accountId: grant.account.id };
  await sessionItem.setValue(session);
  await cache(grant);
  return session;
}

async function cache(me: Pick<Me, "account" | "tokens" | "teams">): Promise<void> {
  await accountItem.setValue({
    account: me.account,
    tokens: me.tokens,
    teams: me.teams ?? [],
    updatedAt: new Date().toISOString(),
  });
}

/** Keeps the cached balance current after a call that returned `tokens`. */
export async function updateCachedTokens(tokens: Balance): Promise<void> {
  const cached = await accountItem.getValue();
  // Some answers carry only `available`/`held`: keep the grants we already know.
  if (cached) {
    await accountItem.setValue({
      ...cached,
      tokens: { ...cached.tokens, ...tokens },
      updatedAt: new Date().toISOString(),
    });
  }
}
