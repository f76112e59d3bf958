import { storage } from "wxt/utils/storage";
import type { SiteSwitch } from "@/sites/index";
import type { Account, TeamSummary, Tokens } from "./api";

/**
 * Every value the extension persists, declared once (docs/style.md, "Extension").
 * Bump an item's `version` and add a migration when its shape changes.
 */

export interface StoredSession {
  token: string;
  kind: "anonymous" | "user";
  accountId: string;
}

/** The session the background holds; only the background reads the token. */
export const sessionItem = storage.defineItem<StoredSession | null>("local:session", {
  fallback: null,
  version: 1,
});

/** The FingerprintJS visitor id, computed once where a DOM exists (popup or panel). */
export const visitorIdItem = storage.defineItem<string | null>("local:visitorId", {
  fallback: null,
  version: 1,
});

/** The last known account and balance, so every view shows a balance at once. */
export interface CachedAccount {
  account: Account;
  tokens: Tokens;
  /** The teams the user belongs to (GET /api/me); absent in a cache written before teams. */
  teams?: TeamSummary[];
  updatedAt: string;
}
export const accountItem = storage.defineItem<CachedAccount | null>("local:account", {
  fallback: null,
  version: 1,
});

/** Overrides the build-time API base URL (popup settings); null uses the build's. */
export const apiUrlItem = storage.defineItem<string | null>("local:apiUrl", {
  fallback: null,
  version: 1,
});

export type { SiteSwitch };
/** Per-site on/off. Content scripts read it before mounting anything. */
export const sitesEnabledItem = storage.defineItem<Record<SiteSwitch, boolean>>("local:sitesEnabled", {
  fallback: { jira: true, gitlab: true, linear: true },
  version: 1,
});

/**
 * Self-managed GitLab origins (`https://git.example.com`) the user enabled
 * from the popup; the background keeps one registered content script per origin.
 */
export const gitlabHostsItem = storage.defineItem<string[]>("local:gitlabHosts", {
  fallback: [],
  version: 1,
});

/**
 * The last generation's Idempotency-Key with the body it was sent with: a
 * retry of the same generation (even after the service worker restarted)
 * reuses the key, so the Worker answers the first result and charges once.
 */
export interface LastGeneration {
  key: string;
  body: string;
  createdAt: string;
}
export const lastGenerationItem = storage.defineItem<LastGeneration | null>("local:lastGeneration", {
  fallback: null,
  version: 1,
});

/** A purchase in flight: the popup polls /api/me until the balance moves past `before`. */
export interface PendingCheckout {
  planId: string;
  /** The balance watched (the team's when `teamId` is set) before the purchase. */
  before: number;
  startedAt: string;
  /** A purchase for a team: its tokens land in the team's wallet. */
  teamId?: string;
}
export const pendingCheckoutItem = storage.defineItem<PendingCheckout | null>("local:pendingCheckout", {
  fallback: null,
  version: 1,
});

/**
 * The user's choice about the device identifier (decision 015): "accepted"
 * lets a view compute the visitor id for an anonymous session; "declined"
 * means sign in directly, and nothing is fingerprinted. Null: not asked yet,
 * and nothing is computed until they choose.
 */
export interface Consent {
  choice: "accepted" | "declined";
  at: string;
}
export const consentItem = storage.defineItem<Consent | null>("local:consent", {
  fallback: null,
  version: 1,
});

/** The popup's views, by the id its tabs and the panel's buttons use. */
export const POPUP_VIEWS = ["account", "buy", "history", "team", "settings"] as const;
export type PopupView = (typeof POPUP_VIEWS)[number];

/**
 * The view the popup opens on next, written by whoever asks for the popup
 * (the panel's Sign in and Buy buttons); the popup reads it once and clears it.
 */
export const popupViewItem = storage.defineItem<PopupView | null>("local:popupView", {
  fallback: null,
  version: 1,
});

/** The last purchase whose tokens arrived: the popup confirms it with "+N tokens". */
export interface CheckoutArrived {
  planId: string;
  added: number;
  at: string;
}
export const checkoutArrivedItem = storage.defineItem<CheckoutArrived | null>("local:checkoutArrived", {
  fallback: null,
  version: 1,
});

/** Who pays in the panel, per site: a team id, or null for the user's own tokens. */
export const walletChoiceItem = storage.defineItem<Record<string, string | null>>("local:walletChoice", {
  fallback: {},
  version: 1,
});

/**
 * What the panel keeps of a form until it is inserted or discarded: the
 * prompt, the choices and the result already paid for. In session storage
 * (memory only, gone when the browser closes), keyed by tab and form
 * (`<tabId>|<site>|<host>`); only the background reads and writes it, since
 * content scripts cannot reach session storage in every browser.
 */
export interface PanelDraft {
  prompt: string;
  issueType: string;
  feature: string;
  result: {
    phase: "done" | "stopped";
    text: string;
    ticket: { title: string; description: string } | null;
    charged: number;
  } | null;
  savedAt: string;
}
export const panelDraftsItem = storage.defineItem<Record<string, PanelDraft>>("session:panelDrafts", {
  fallback: {},
  version: 1,
});
