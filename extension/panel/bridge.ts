import type { SiteAdapter } from "@/sites/types";

/**
 * The seam between the small per-site content script and the panel bundle.
 *
 * The content script stays tiny on every page: it watches for the create form
 * and mounts only the `myba-ticket-panel` host with its launcher
 * (`[data-testid=myba-open]`). The first click asks the background
 * (`loadPanel` message) to inject `panel.js` into the same isolated world;
 * that bundle registers `globalThis.__mybaPanel`, which the content script then
 * calls with the shadow root's container and the site's adapter.
 */
export interface PanelMountOptions {
  /** An element inside the open shadow root of `myba-ticket-panel`. */
  container: HTMLElement;
  adapter: SiteAdapter;
  /** The create form the panel belongs to (what the adapter reads and writes). */
  form: Element;
  onClose(): void;
}

export interface PanelModule {
  mount(options: PanelMountOptions): { unmount(): void };
}

declare global {
  // Registered by the panel bundle (entrypoints/panel.ts).
  var __mybaPanel: PanelModule | undefined;
}
