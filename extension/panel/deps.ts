import type { Health, Plans, TeamSummary, Tokens } from "@/lib/api";
import type { AccountState, PortLike } from "@/lib/messaging";
import type { PanelDraft, PopupView } from "@/lib/storage";

/**
 * What the panel needs from the extension; mount.tsx passes the real ones,
 * tests pass fakes. The optional ones degrade quietly when absent (no
 * drafts kept, no demo marker, no wallet memory).
 */
export interface PanelDeps {
  connect(): PortLike;
  loadAccount(refresh: boolean): Promise<AccountState>;
  /** Calls back with the cached account whenever it changes (a purchase, the popup signing in). */
  watchAccount(
    callback: (
      state: { account: AccountState["account"]; tokens: Tokens; teams?: TeamSummary[] } | null,
    ) => void,
  ): () => void;
  getPlans(): Promise<Plans>;
  /** Opens the popup on that view (the popup reads `popupView` when it opens). */
  openPopup(view: PopupView): Promise<void>;
  copy(text: string): Promise<void>;
  /**
   * Whether an event comes from the person at the keyboard. Defaults to
   * `event.isTrusted`; happy-dom has no trusted events, so unit tests pass their own.
   */
  isTrusted?(event: Event): boolean;
  /** This tab's draft for a form (`<site>|<host>`), kept until inserted or discarded. */
  loadDraft?(form: string): Promise<PanelDraft | null>;
  saveDraft?(form: string, draft: PanelDraft | null): Promise<void>;
  getHealth?(): Promise<Pick<Health, "ai" | "billing">>;
  /** Who pays, remembered per site (null: the user's own tokens). */
  walletChoice?: {
    get(site: string): Promise<string | null>;
    set(site: string, wallet: string | null): Promise<void>;
  };
  /** `navigator.onLine` unless a test says otherwise. */
  online?(): boolean;
}

export type OpenPopup = PanelDeps["openPopup"];

/** A page script can reach into the open shadow root and click; only a person's events spend tokens or write the form. */
export const byPerson = (event: Event): boolean => event.isTrusted === true;
