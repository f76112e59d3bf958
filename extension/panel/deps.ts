import type { Plans, Tokens } from "@/lib/api";
import type { AccountState, PortLike } from "@/lib/messaging";

/** What the panel needs from the extension; mount.tsx passes the real ones, tests pass fakes. */
export interface PanelDeps {
  connect(): PortLike;
  loadAccount(refresh: boolean): Promise<AccountState>;
  /** Calls back with the cached account whenever it changes (a purchase, the popup signing in). */
  watchAccount(
    callback: (state: { account: AccountState["account"]; tokens: Tokens } | null) => void,
  ): () => void;
  getPlans(): Promise<Plans>;
  openPopup(view: "account" | "buy"): Promise<void>;
  copy(text: string): Promise<void>;
}

export type OpenPopup = PanelDeps["openPopup"];
