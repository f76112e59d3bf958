import { defineExtensionMessaging } from "@webext-core/messaging";
import { browser } from "wxt/browser";
import {
  type Account,
  ApiError,
  type ApiErrorInfo,
  type Balance,
  type GenerateRequest,
  type Generation,
  type Health,
  type Page,
  type Plans,
  type Provider,
  type TeamDetail,
  type TeamInvite,
  type TeamMember,
  type TeamRole,
  type TeamSummary,
  type TeamUsage,
  type Tokens,
} from "./api";
import type { PanelDraft, PopupView } from "./storage";

/** What every view shows about the session: who, how many tokens, against which Worker. */
export interface AccountState {
  account: Account;
  tokens: Tokens;
  /**
   * The user's teams (GET /api/me, docs/api.md Teams): the panel offers them as who
   * pays. The background always sends it ([] when none); optional for views
   * that build an AccountState themselves.
   */
  teams?: TeamSummary[];
  apiUrl: string;
}

export interface SignInOutcome extends AccountState {
  transferred: number;
  welcomeGranted: boolean | number;
}

export interface Settings {
  apiUrl: string;
  apiUrlOverride: string | null;
  defaultApiUrl: string;
  sites: { jira: boolean; gitlab: boolean; linear: boolean };
  gitlabHosts: string[];
}

/**
 * One typed protocol between the views (popup, panel, content scripts) and
 * the background, which alone holds the session token and talks to the
 * Worker (docs/style.md, "Extension"). Handlers throw `ApiError`s; callers get
 * them back through `asApiError`.
 */
export interface ProtocolMap {
  /** Content script → background: inject panel.js into the sender's tab and frame. */
  loadPanel(): { ok: true };
  /**
   * The account, starting an anonymous session when there is none. Throws
   * `visitor_id_required` when the background has no visitor id yet: the
   * caller computes one (it has a DOM) and asks again with it.
   */
  getAccount(data: { visitorId?: string; refresh?: boolean }): AccountState;
  getProviders(): { providers: Provider[]; devLogin: boolean };
  signIn(data: { provider: string }): SignInOutcome;
  devLogin(data: { email: string }): SignInOutcome;
  /** Null: signed out with no anonymous session to return to (its tokens moved): sign in to continue. */
  signOut(): AccountState | null;
  getPlans(): Plans;
  /** Opens Stripe Checkout in a tab and remembers the balance to watch. */
  checkout(data: { planId: string; teamId?: string }): { url: string };
  redeemPromo(data: { code: string }): { granted: number; tokens: Tokens };
  listGenerations(data: { cursor?: string }): Page<Generation>;
  exportGeneration(data: { id: string; format: "md" | "json" }): { filename: string; content: string };
  /** Popup → background → the active tab's open panel. */
  reinsert(data: { id: string }): { ok: boolean; message?: string };
  /** The panel asks for the popup on a view (sign in, buy); a tab when the popup cannot open. */
  openPopup(data: { view?: PopupView }): void;
  /** GET /api/health: which AI and billing the Worker runs (the "Demo AI" marker). */
  getHealth(): Health;
  getSettings(): Settings;
  setApiUrl(data: { apiUrl: string | null }): Settings;
  setSiteEnabled(data: { site: "jira" | "gitlab" | "linear"; enabled: boolean }): Settings;
  /** The popup has already obtained the host permission (it needs the user's click). */
  enableGitlabHost(data: { origin: string }): Settings;
  disableGitlabHost(data: { origin: string }): Settings;
  /** The panel's draft for this tab and form (`form`: `<site>|<host>`), or null. */
  getDraft(data: { form: string }): PanelDraft | null;
  /** Keeps (or, with null, forgets) the panel's draft for this tab and form. */
  saveDraft(data: { form: string; draft: PanelDraft | null }): void;
  /* Teams (docs/api.md, Teams); each change refreshes the cached account, whose `teams` the panel reads. */
  getTeam(data: { teamId: string }): TeamDetail;
  createTeam(data: { name: string }): AccountState;
  joinTeam(data: { code: string }): AccountState & { joined: string };
  inviteToTeam(data: {
    teamId: string;
    email?: string;
    role: "admin" | "member";
    monthlyLimit: number | null;
  }): TeamInvite;
  changeMember(data: {
    teamId: string;
    accountId: string;
    role?: TeamRole;
    monthlyLimit?: number | null;
  }): TeamMember | null;
  removeMember(data: { teamId: string; accountId: string }): AccountState;
  teamUsage(data: { teamId: string }): TeamUsage;
  /** Background → a tab's content script: open the panel on the form (History's Insert with the panel closed). */
  openPanel(): { ok: boolean };
  /** Background → a tab's panel: show this ticket and insert it into the form. */
  showTicket(data: { title: string; description: string }): { ok: boolean; message?: string };
}

export const { sendMessage, onMessage, removeAllListeners } = defineExtensionMessaging<ProtocolMap>();

/** Turns whatever crossed the boundary back into an `ApiError`. */
export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as Partial<ApiErrorInfo> & { message?: string };
  if (e && typeof e.code === "string" && typeof e.status === "number") {
    return new ApiError(e.status, e.code, e.message ?? "", e.details ?? {}, e.retryAfter);
  }
  return new ApiError(0, "extension_error", e?.message || "Something went wrong in the extension.");
}

/* The generation stream goes over a runtime Port (many messages, cancellable). */

export const GENERATE_PORT = "myba:generate";

export type PanelToBackground =
  /** `retry`: the same generation again (reuses its Idempotency-Key when the body matches). */
  { type: "start"; request: GenerateRequest; retry: boolean } | { type: "stop" };

export type BackgroundToPanel =
  | { type: "start"; generationId: string; held: number }
  | { type: "delta"; text: string }
  | {
      type: "done";
      generationId: string;
      title: string;
      description: string;
      charged: number;
      tokens: Tokens;
    }
  /** `tokens`: the balance after the failure, when the Worker reported it (an error event, a 402). */
  | { type: "error"; error: ApiErrorInfo; charged: number; tokens?: Balance }
  | { type: "stopped" };

/** The subset of `Browser.runtime.Port` both ends use; tests pass a fake. */
export interface PortLike {
  name: string;
  postMessage(message: unknown): void;
  disconnect(): void;
  onMessage: { addListener(cb: (message: never) => void): void };
  onDisconnect: { addListener(cb: () => void): void };
}

export function connectGeneratePort(): PortLike {
  return browser.runtime.connect({ name: GENERATE_PORT }) as unknown as PortLike;
}
