import { panelModule } from "@/panel/mount";

/**
 * The panel bundle, injected by the background (`loadPanel`) into the
 * isolated world of the tab whose launcher was clicked, so pages pay for
 * React only once someone opens the panel (panel/bridge.ts).
 */
export default defineUnlistedScript(() => {
  globalThis.__mybaPanel ??= panelModule;
});
