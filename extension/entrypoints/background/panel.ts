import { browser } from "wxt/browser";
import { ApiError } from "@/lib/api";
import { onMessage } from "@/lib/messaging";
import { panelDraftsItem } from "@/lib/storage";

/** Drafts older than this are dropped when the next one is saved (a tab left open for days). */
const DRAFT_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * What the panel asks of the background besides generating: its draft per
 * tab and form, in session storage, which content scripts cannot reach in
 * every browser.
 */
export function registerPanelHandlers(): void {
  const keyOf = (tabId: number | undefined, form: string) => {
    if (tabId === undefined) throw new ApiError(0, "extension_error", "Drafts are kept for tabs only.");
    return `${tabId}|${form}`;
  };

  onMessage("getDraft", async ({ data, sender }) => {
    const drafts = await panelDraftsItem.getValue();
    return drafts[keyOf(sender.tab?.id, data.form)] ?? null;
  });

  onMessage("saveDraft", async ({ data, sender }) => {
    const key = keyOf(sender.tab?.id, data.form);
    const drafts = await panelDraftsItem.getValue();
    const now = Date.now();
    const kept = Object.fromEntries(
      Object.entries(drafts).filter(([k, d]) => k !== key && now - Date.parse(d.savedAt) < DRAFT_TTL_MS),
    );
    await panelDraftsItem.setValue(data.draft ? { ...kept, [key]: data.draft } : kept);
  });

  // A closed tab's drafts go with it.
  browser.tabs?.onRemoved?.addListener((tabId) => {
    void panelDraftsItem.getValue().then((drafts) => {
      const kept = Object.fromEntries(Object.entries(drafts).filter(([k]) => !k.startsWith(`${tabId}|`)));
      if (Object.keys(kept).length !== Object.keys(drafts).length) return panelDraftsItem.setValue(kept);
    });
  });
}
