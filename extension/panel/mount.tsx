import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { loadAccount } from "@/lib/account";
import { asApiError, connectGeneratePort, onMessage, sendMessage } from "@/lib/messaging";
import { accountItem, popupViewItem, walletChoiceItem } from "@/lib/storage";
import type { PanelModule, PanelMountOptions } from "./bridge";
import { Panel, type PanelDeps } from "./Panel";
import { panelCss } from "./styles";

export const defaultDeps: PanelDeps = {
  connect: connectGeneratePort,
  loadAccount: (refresh) =>
    loadAccount(refresh).catch((err) => {
      throw asApiError(err).toJSON();
    }),
  watchAccount: (callback) => accountItem.watch((value) => callback(value)),
  getPlans: () => sendMessage("getPlans", undefined),
  // The popup opens on the view the button named: it reads `popupView` when it opens.
  openPopup: async (view) => {
    await popupViewItem.setValue(view);
    await sendMessage("openPopup", { view });
  },
  copy: copyText,
  loadDraft: (form) => sendMessage("getDraft", { form }),
  saveDraft: (form, draft) => sendMessage("saveDraft", { form, draft }),
  getHealth: () => sendMessage("getHealth", undefined),
  walletChoice: {
    get: async (site) => (await walletChoiceItem.getValue())[site] ?? null,
    set: async (site, wallet) =>
      walletChoiceItem.setValue({ ...(await walletChoiceItem.getValue()), [site]: wallet }),
  },
};

/** Clipboard API first; the selection fallback covers pages whose permissions policy blocks it. */
async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    area.style.cssText = "position:fixed;opacity:0;pointer-events:none";
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    if (!ok) throw new Error("copy refused");
  }
}

type Incoming = {
  ticket: { title: string; description: string };
  respond(r: { ok: boolean; message?: string }): void;
};

/** The one mounted panel in this frame, for the popup's "re-insert". */
let deliver: ((incoming: Incoming) => void) | null = null;
let listening = false;

function listenForTickets() {
  if (listening) return;
  listening = true;
  onMessage("showTicket", ({ data }) => {
    const target = deliver;
    if (!target) return { ok: false, message: "The MyBA panel is not open in this tab." };
    return new Promise((respond) => target({ ticket: data, respond }));
  });
}

function Root({ options, deps }: { options: PanelMountOptions; deps: PanelDeps }) {
  const [incoming, setIncoming] = useState<Incoming | null>(null);
  useEffect(() => {
    deliver = setIncoming;
    return () => {
      if (deliver === setIncoming) deliver = null;
    };
  }, []);
  return (
    <Panel
      adapter={options.adapter}
      form={options.form}
      onClose={options.onClose}
      deps={deps}
      theme={themeOf(options.container)}
      incoming={incoming}
    />
  );
}

function themeOf(container: HTMLElement): "light" | "dark" | undefined {
  const theme = container.closest<HTMLElement>("[data-theme]")?.dataset.theme;
  return theme === "light" || theme === "dark" ? theme : undefined;
}

/** Keys typed in the panel must not reach the page's own shortcuts (Jira's `c`, Linear's everything). */
const ISOLATED_EVENTS = ["keydown", "keyup", "keypress"] as const;

export function mountPanel(options: PanelMountOptions, deps: PanelDeps = defaultDeps) {
  const { container } = options;
  const style = document.createElement("style");
  style.textContent = panelCss;
  const host = document.createElement("div");
  container.append(style, host);
  const stop = (event: Event) => event.stopPropagation();
  for (const type of ISOLATED_EVENTS) host.addEventListener(type, stop);

  if (deps === defaultDeps) listenForTickets();
  const root = createRoot(host);
  root.render(
    <StrictMode>
      <Root options={options} deps={deps} />
    </StrictMode>,
  );
  return {
    unmount() {
      root.unmount();
      for (const type of ISOLATED_EVENTS) host.removeEventListener(type, stop);
      style.remove();
      host.remove();
    },
  };
}

export const panelModule: PanelModule = { mount: (options) => mountPanel(options) };
