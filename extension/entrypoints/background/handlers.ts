import * as oauth from "oauth4webapi";
import { browser } from "wxt/browser";
import { type Api, ApiError, type Me, type SignInResult } from "@/lib/api";
import { DEFAULT_API_URL } from "@/lib/config";
import { type AccountState, onMessage, type Settings, type SignInOutcome } from "@/lib/messaging";
import { type SessionManager, updateCachedTokens } from "@/lib/session";
import {
  accountItem,
  apiUrlItem,
  gitlabHostsItem,
  popupViewItem,
  sessionItem,
  sitesEnabledItem,
} from "@/lib/storage";
import { registerCheckoutHandlers } from "./checkout";
import { disableGitlabHost, enableGitlabHost, normalizeOrigin } from "./gitlab-hosts";
import { registerHistoryHandlers } from "./history";
import { registerTeamHandlers } from "./teams";

export interface HandlerDeps {
  session: SessionManager;
  getApi: () => Promise<Api>;
}

/** The extension's OAuth client id as the Worker knows it (its own session tokens, not the provider's). */
const CLIENT = { client_id: "myba-extension" };

export function registerHandlers({ session, getApi }: HandlerDeps): void {
  const state = async (me: Pick<Me, "account" | "tokens" | "teams">): Promise<AccountState> => ({
    account: me.account,
    tokens: me.tokens,
    teams: me.teams ?? [],
    apiUrl: (await getApi()).baseUrl,
  });
  const outcome = async (result: SignInResult): Promise<SignInOutcome> => ({
    ...(await state(await session.refresh().catch(() => result))),
    transferred: result.transferred,
    welcomeGranted: result.welcomeGranted,
  });

  registerHistoryHandlers({ session, getApi });
  registerCheckoutHandlers({ session, getApi });
  registerTeamHandlers({ session, getApi, state });

  onMessage("loadPanel", async ({ sender }) => {
    const tabId = sender.tab?.id;
    if (tabId === undefined) throw new ApiError(0, "extension_error", "The panel can only open in a tab.");
    await browser.scripting.executeScript({
      target: { tabId, frameIds: [sender.frameId ?? 0] },
      files: ["/panel.js"],
    });
    return { ok: true } as const;
  });

  onMessage("getAccount", async ({ data }) => {
    if (data?.visitorId) await session.setVisitorId(data.visitorId);
    const cached = await accountItem.getValue();
    const current = await session.current();
    if (!data?.refresh && cached && current && cached.account.id === current.accountId) return state(cached);
    return state(await session.refresh());
  });

  onMessage("getProviders", async () => {
    const api = await getApi();
    const providers = await api.providers();
    // Dev login answers 404 when AUTH_DEV_LOGIN is off and 400 to an empty body when it is on.
    const probe = await api.raw("/auth/dev-login", { method: "POST", body: "{}" }).catch(() => null);
    const devLogin = providers.some((p) => p.id === "dev") || (probe !== null && probe.status !== 404);
    return { providers: providers.filter((p) => p.id !== "dev"), devLogin };
  });

  onMessage("signIn", async ({ data }) => {
    const api = await getApi();
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const expectedState = oauth.generateRandomState();
    const redirectUri = browser.identity.getRedirectURL("oauth");
    const start = new URL(`${api.baseUrl}/auth/${encodeURIComponent(data.provider)}/start`);
    start.search = new URLSearchParams({
      redirect_uri: redirectUri,
      state: expectedState,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
    }).toString();
    let redirected: string | undefined;
    try {
      redirected = await browser.identity.launchWebAuthFlow({ url: start.toString(), interactive: true });
    } catch (err) {
      throw new ApiError(0, "sign_in_cancelled", `Sign-in did not finish: ${(err as Error).message}`);
    }
    if (!redirected) throw new ApiError(0, "sign_in_cancelled", "Sign-in was closed before it finished.");
    let params: URLSearchParams;
    try {
      // Checks `state` and turns an `error=` redirect into a thrown error.
      params = oauth.validateAuthResponse(
        { issuer: api.baseUrl },
        CLIENT,
        new URL(redirected),
        expectedState,
      );
    } catch (err) {
      throw new ApiError(0, "sign_in_failed", `Sign-in failed: ${(err as Error).message}`);
    }
    const code = params.get("code");
    if (!code) throw new ApiError(0, "sign_in_failed", "The provider sent no authorization code.");
    return outcome(
      await session.signIn((anonymousToken) =>
        api.token({ code, codeVerifier, ...(anonymousToken ? { anonymousToken } : {}) }),
      ),
    );
  });

  onMessage("devLogin", async ({ data }) => {
    const api = await getApi();
    return outcome(
      await session.signIn((anonymousToken) =>
        api.devLogin({ email: data.email, ...(anonymousToken ? { anonymousToken } : {}) }),
      ),
    );
  });

  onMessage("signOut", async () => {
    const me = await session.signOut();
    return me ? state(me) : null;
  });

  onMessage("getHealth", async () => (await getApi()).health());

  onMessage("getPlans", async () => {
    const api = await getApi();
    const current = await session.current();
    return api.plans(current?.token ?? null);
  });

  onMessage("redeemPromo", async ({ data }) => {
    const api = await getApi();
    const result = await session.withToken((token) => api.redeem(token, data.code.trim()));
    await updateCachedTokens(result.tokens);
    return result;
  });

  onMessage("openPopup", async ({ data }) => {
    const view = data?.view ?? "account";
    // The popup opens on the view that was asked for (the panel writes it too; same value).
    await popupViewItem.setValue(view);
    try {
      await browser.action.openPopup();
    } catch {
      // Not allowed without a user gesture in this browser: the same page in a tab.
      await browser.tabs.create({ url: browser.runtime.getURL(`/popup.html#${view}`) });
    }
  });

  const settings = async (): Promise<Settings> => {
    const override = await apiUrlItem.getValue();
    return {
      apiUrl: override ?? DEFAULT_API_URL,
      apiUrlOverride: override,
      defaultApiUrl: DEFAULT_API_URL,
      sites: await sitesEnabledItem.getValue(),
      gitlabHosts: await gitlabHostsItem.getValue(),
    };
  };

  onMessage("getSettings", settings);

  onMessage("setApiUrl", async ({ data }) => {
    const value = data.apiUrl?.trim() || null;
    if (value !== null) {
      const url = URL.canParse(value) ? new URL(value) : null;
      if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
        throw new ApiError(0, "invalid_request", "The API URL must start with https:// or http://.");
      }
    }
    const next =
      value === null || value.replace(/\/+$/, "") === DEFAULT_API_URL ? null : value.replace(/\/+$/, "");
    if (next !== (await apiUrlItem.getValue())) {
      await apiUrlItem.setValue(next);
      // A session belongs to one Worker: start over against the new one.
      await sessionItem.setValue(null);
      await accountItem.setValue(null);
    }
    return settings();
  });

  onMessage("setSiteEnabled", async ({ data }) => {
    const sites = await sitesEnabledItem.getValue();
    await sitesEnabledItem.setValue({ ...sites, [data.site]: data.enabled });
    return settings();
  });

  onMessage("enableGitlabHost", async ({ data }) => {
    const origin = normalizeOrigin(data.origin);
    if (!origin) throw new ApiError(0, "invalid_request", "That is not a web address.");
    if (!(await browser.permissions.contains({ origins: [`${origin}/*`] }))) {
      throw new ApiError(0, "permission_required", `MyBA needs permission to run on ${origin}.`);
    }
    await enableGitlabHost(origin);
    return settings();
  });

  onMessage("disableGitlabHost", async ({ data }) => {
    const origin = normalizeOrigin(data.origin);
    if (origin) await disableGitlabHost(origin);
    return settings();
  });
}
