import { act } from "react";
import { afterEach, beforeEach, vi } from "vitest";
import type { ApiErrorInfo, Tokens } from "@/lib/api";
import type { AccountState, BackgroundToPanel, PanelToBackground, PortLike } from "@/lib/messaging";
import { mountPanel } from "@/panel/mount";
import type { PanelDeps } from "@/panel/Panel";
import type { InsertResult, SiteAdapter } from "@/sites/types";

/** The panel mounted in a shadow root as the content script does, with a fake background. */

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export const anonymous = (available: number): AccountState => ({
  account: { id: "acc_anon", kind: "anonymous" },
  tokens: { available, held: 0 },
  apiUrl: "http://api.test",
});

let cleanup: (() => void) | null = null;
/** Call from the test file: unmounts what `setup` mounted and empties the page. */
export function resetAfterEach() {
  beforeEach(() => {
    cleanup = null;
  });
  afterEach(() => {
    cleanup?.();
    document.body.innerHTML = "";
  });
}

export const insufficientTokens = (details: Record<string, unknown>): ApiErrorInfo => ({
  status: 402,
  code: "insufficient_tokens",
  message: "Not enough tokens.",
  details,
});

export async function setup({
  account = anonymous(3),
  insert,
  loadAccount,
  trusted = true,
  extra = {},
}: {
  /** More of the background: drafts, health, wallet memory, `navigator.onLine`. */
  extra?: Partial<PanelDeps>;
  trusted?: boolean;
  account?: AccountState;
  insert?: () => Promise<InsertResult>;
  loadAccount?: () => Promise<AccountState>;
} = {}) {
  const posted: PanelToBackground[] = [];
  let toPanel: ((m: BackgroundToPanel) => void) | null = null;
  let watcher: ((s: { account: AccountState["account"]; tokens: Tokens } | null) => void) | null = null;
  const port: PortLike = {
    name: "myba:generate",
    postMessage: (m) => posted.push(m as PanelToBackground),
    disconnect: vi.fn(),
    onMessage: { addListener: (cb) => (toPanel = cb as (m: BackgroundToPanel) => void) },
    onDisconnect: { addListener: () => {} },
  };
  const deps: PanelDeps = {
    connect: vi.fn(() => port),
    loadAccount: vi.fn(loadAccount ?? (async () => account)),
    watchAccount: (cb) => {
      watcher = cb;
      return () => {};
    },
    getPlans: vi.fn(async () => ({ packs: [], subscriptions: [] })),
    openPopup: vi.fn(async () => {}),
    copy: vi.fn(async () => {}),
    // happy-dom has no trusted events: these fakes stand for a person's clicks and keys.
    isTrusted: trusted ? () => true : undefined,
    ...extra,
  };
  const adapter: SiteAdapter = {
    site: "jira",
    findForm: () => null,
    readContext: () => ({
      site: "jira",
      title: "Old title",
      description: "",
      project: "WEB",
      url: "https://acme.atlassian.net/jira",
    }),
    insert: vi.fn(insert ?? (async () => ({ ok: true }) as InsertResult)),
    snapshot: () => ({ title: { kind: "value", value: "Old title" }, description: { kind: "missing" } }),
    restore: vi.fn(async () => ({ ok: true }) as InsertResult),
  };
  const host = document.createElement("myba-ticket-panel");
  document.body.append(host);
  const shadow = host.attachShadow({ mode: "open" });
  const container = document.createElement("div");
  shadow.append(container);
  const onClose = vi.fn();
  let mounted: { unmount(): void } | undefined;
  act(() => {
    mounted = mountPanel({ container, adapter, form: document.createElement("form"), onClose }, deps);
  });
  const unmount = () =>
    act(() => {
      mounted?.unmount();
      mounted = undefined;
    });
  cleanup = unmount;

  const $ = (id: string) => shadow.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  // Let the account and plans requests of the first render land.
  await settle();
  return {
    deps,
    adapter,
    posted,
    onClose,
    shadow,
    $,
    emit: (m: BackgroundToPanel) => act(() => toPanel?.(m)),
    /** Types the request and presses Generate. */
    generate: (prompt: string) => {
      type($("myba-input"), prompt);
      click($("myba-generate"));
    },
    /** The background's answer when the generation failed. */
    fail: (error: ApiErrorInfo, charged = 0) => act(() => toPanel?.({ type: "error", charged, error })),
    pushAccount: (s: AccountState) => act(() => watcher?.(s)),
    unmount,
  };
}

export async function settle() {
  await act(async () => {
    await new Promise((r) => setTimeout(r, 0));
  });
}

export function type(el: HTMLElement | null, value: string) {
  const area = el as HTMLTextAreaElement;
  const setter = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value")?.set;
  act(() => {
    setter?.call(area, value);
    area.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

export const click = (el: HTMLElement | null) => act(() => el?.click());

export const key = (el: HTMLElement | null, init: KeyboardEventInit) =>
  act(() => {
    el?.dispatchEvent(new KeyboardEvent("keydown", { bubbles: true, composed: true, ...init }));
  });

export const done: BackgroundToPanel = {
  type: "done",
  generationId: "gen_1",
  title: "Fix login on Safari",
  description: "## Summary\n\nThe reset link opens a blank page.",
  charged: 1,
  tokens: { available: 2, held: 0 },
};
