import { defineExtensionMessaging } from "@webext-core/messaging";
import type { ContentScriptContext } from "wxt/utils/content-script-context";
import { createShadowRootUi } from "wxt/utils/content-script-ui/shadow-root";
import type { PanelModule } from "@/panel/bridge";
import type { SiteAdapter } from "@/sites/types";
import type { ProtocolMap } from "./messaging";

// Only the wire protocol's types come from ./messaging: its runtime pulls in
// the API client, which has no place in a script that runs on every page.
const { sendMessage, onMessage } = defineExtensionMessaging<Pick<ProtocolMap, "loadPanel" | "openPanel">>();

/** Opens the panel on the form shown now; History's Insert asks for it through the background. */
let openCurrent: (() => Promise<boolean>) | null = null;
let listening = false;
function listenForOpen() {
  if (listening) return;
  listening = true;
  onMessage("openPanel", async () => ({ ok: (await openCurrent?.()) ?? false }));
}

/** How long DOM changes are left to settle before the form is looked for again. */
const SETTLE_MS = 50;
/** The longest the panel's preload waits for the page to go idle. */
const PRELOAD_TIMEOUT_MS = 1500;

const STYLE = `
:host { display: block !important; margin: 0 0 12px !important; }
.launcher {
  display: inline-flex; align-items: center; gap: 6px; box-sizing: border-box;
  font: 500 13px/20px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  padding: 5px 12px; border-radius: 6px; cursor: pointer;
  border: 1px solid #c1c7d0; background: #fff; color: #172b4d;
}
.launcher:hover { background: #f4f5f7; }
.launcher:focus-visible { outline: 2px solid #388bff; outline-offset: 2px; }
.launcher[aria-busy="true"] { cursor: progress; opacity: .7; }
.launcher svg { width: 16px; height: 16px; }
[data-theme="dark"] .launcher { border-color: #454f59; background: #22272b; color: #dee4ea; }
[data-theme="dark"] .launcher:hover { background: #2c333a; }
.error { font: 13px/18px system-ui, sans-serif; color: #ae2e24; margin: 6px 0 0; }
[data-theme="dark"] .error { color: #fd9891; }
`;

const MARK =
  '<svg viewBox="0 0 16 16" aria-hidden="true"><path fill="currentColor" d="M8 1l1.8 4.2L14 7l-4.2 1.8L8 13l-1.8-4.2L2 7l4.2-1.8z"/></svg>';

/**
 * The page's theme where the form is drawn: sites keep their own dark modes
 * (Jira's data-color-mode, GitLab's gl-dark, Linear's), so look at the
 * colours rather than at prefers-color-scheme.
 */
function themeOf(el: Element): "light" | "dark" {
  for (let node: Element | null = el; node; node = node.parentElement) {
    const match = /rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)/.exec(getComputedStyle(node).backgroundColor);
    if (!match || match[4] === "0") continue;
    const [r, g, b] = [match[1], match[2], match[3]].map(Number) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 128 ? "dark" : "light";
  }
  return "light";
}

/**
 * Watches the page (one throttled MutationObserver tied to the content-script
 * context) and keeps a `myba-ticket-panel` host with its launcher at the top
 * of the site's create form while one is open. The panel's own code loads on
 * the launcher's first click (panel/bridge.ts).
 */
export function mountOnForm(ctx: ContentScriptContext, adapter: SiteAdapter) {
  let current: { form: Element; host: HTMLElement; remove(): void } | null = null;
  let scheduled = false;
  let syncing: Promise<void> = Promise.resolve();

  async function sync() {
    if (ctx.isInvalid) return;
    const form = adapter.findForm(document);
    if (current && current.form === form && current.host.isConnected) return;
    current?.remove();
    current = null;
    if (form) current = await mountLauncher(ctx, adapter, form);
  }

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    ctx.setTimeout(() => {
      scheduled = false;
      syncing = syncing.then(sync, sync);
    }, SETTLE_MS);
  };

  const observer = new MutationObserver(schedule);
  observer.observe(document.body, { childList: true, subtree: true });
  ctx.onInvalidated(() => {
    observer.disconnect();
    current?.remove();
  });
  syncing = syncing.then(sync);
  preloadPanel(ctx);
}

async function mountLauncher(ctx: ContentScriptContext, adapter: SiteAdapter, form: Element) {
  const ui = await createShadowRootUi(ctx, {
    name: "myba-ticket-panel",
    position: "inline",
    anchor: form,
    append: "first",
    mode: "open",
    css: STYLE,
    // Keys typed into the panel must not reach the site's shortcuts (Linear's
    // `c`, Jira's `c`, GitLab's `e`…).
    isolateEvents: ["keydown", "keyup", "keypress"],
    onMount(container) {
      container.dataset.theme = themeOf(form);
      const launcher = document.createElement("button");
      launcher.type = "button";
      launcher.className = "launcher";
      launcher.dataset.testid = "myba-open";
      launcher.setAttribute("aria-expanded", "false");
      launcher.innerHTML = `${MARK}<span>Generate ticket</span>`;
      const slot = document.createElement("div");
      slot.id = "myba-panel";
      launcher.setAttribute("aria-controls", slot.id);
      const error = document.createElement("p");
      error.className = "error";
      error.dataset.testid = "myba-load-error";
      error.setAttribute("role", "alert");
      error.hidden = true;
      container.append(launcher, error, slot);

      let panel: { unmount(): void } | null = null;
      const close = () => {
        panel?.unmount();
        panel = null;
        launcher.setAttribute("aria-expanded", "false");
        launcher.focus();
      };
      const open = async () => {
        if (panel || launcher.getAttribute("aria-busy") === "true") return;
        launcher.setAttribute("aria-busy", "true");
        error.hidden = true;
        try {
          const module = await loadPanel();
          panel = module.mount({ container: slot, adapter, form, onClose: close });
          launcher.setAttribute("aria-expanded", "true");
        } catch (err) {
          error.textContent = `MyBA could not open: ${(err as Error)?.message || err}. Reload the page and try again.`;
          error.hidden = false;
        } finally {
          launcher.removeAttribute("aria-busy");
        }
      };
      launcher.addEventListener("click", (event) => {
        // The shadow root is open (tests reach in), so the page's own script can
        // click here too: only a person's click (or Enter/Space on the focused
        // launcher, which the browser turns into a trusted click) opens MyBA.
        // History's Insert opens it through the background (`openPanel`).
        if (!event.isTrusted) return;
        void (panel ? close() : open());
      });
      const openHere = async () => {
        await open();
        return panel !== null;
      };
      openCurrent = openHere;
      listenForOpen();
      return {
        close: () => {
          if (openCurrent === openHere) openCurrent = null;
          if (panel) close();
        },
      };
    },
    onRemove(mounted) {
      mounted?.close();
    },
  });
  ui.mount();
  preloadPanel(ctx);
  return { form, host: ui.shadowHost, remove: () => ui.remove() };
}

let injecting: Promise<unknown> | null = null;

/**
 * The panel bundle, injected by the background into this isolated world:
 * once, whether the idle-time preload or a click asks first. A failed
 * injection is forgotten so the next click tries again. Whatever registered
 * `__mybaPanel` last is what mounts (the e2e stand-in replaces the real one).
 */
async function loadPanel(): Promise<PanelModule> {
  if (!globalThis.__mybaPanel) {
    injecting ??= sendMessage("loadPanel").catch((err) => {
      injecting = null;
      throw err;
    });
    await injecting;
  }
  const module = globalThis.__mybaPanel;
  if (!module) throw new Error("the panel did not load");
  return module;
}

/**
 * The panel's code loads while the page is idle, so the launcher's click only
 * mounts it (decision 013): once the site's page has settled, and at the
 * latest when a create form appears.
 */
function preloadPanel(ctx: ContentScriptContext) {
  if (globalThis.__mybaPanel || injecting) return;
  ctx.requestIdleCallback(() => void loadPanel().catch(() => {}), { timeout: PRELOAD_TIMEOUT_MS });
}
