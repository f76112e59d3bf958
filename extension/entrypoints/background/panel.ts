import { browser } from "wxt/browser";
import { ApiError } from "@/lib/api";
import { onMessage } from "@/lib/messaging";
import { type PanelDraft, panelDraftsItem } from "@/lib/storage";

/** Drafts older than this are dropped when the next one is saved (a tab left open for days). */
export const DRAFT_TTL_MS = 24 * 60 * 60 * 1000;

type Drafts = Record<string, PanelDraft>;

/** One draft per tab and form: `<tabId>|<site>|<host>`. */
export function draftKey(tabId: number | undefined, form: string): string {
  if (tabId === undefined) throw new ApiError(0, "extension_error", "Drafts are kept for tabs only.");
  return `${tabId}|${form}`;
}

/** The drafts after saving (or, with null, forgetting) one, without any past their day. */
export function keepDraft(drafts: Drafts, key: string, draft: PanelDraft | null, now: number): Drafts {
  const kept = Object.fromEntries(
    Object.entries(drafts).filter(([k, d]) => k !== key && now - Date.parse(d.savedAt) < DRAFT_TTL_MS),
  );
  return draft ? { ...kept, [key]: draft } : kept;
}

/** The drafts without a closed tab's. */
export function dropTab(drafts: Drafts, tabId: number): Drafts {
  return Object.fromEntries(Object.entries(drafts).filter(([k]) => !k.startsWith(`${tabId}|`)));
}

/**
 * What the panel asks of the background besides generating: its draft per
 * tab and form, in session storage, which content scripts cannot reach in
 * every browser.
 */
export function registerPanelHandlers(): void {
  onMessage("getDraft", async ({ data, sender }) => {
    const drafts = await panelDraftsItem.getValue();
    return drafts[draftKey(sender.tab?.id, data.form)] ?? null;
  });

  onMessage("saveDraft", async ({ data, sender }) => {
    const key = draftKey(sender.tab?.id, data.form);
    await panelDraftsItem.setValue(keepDraft(await panelDraftsItem.getValue(), key, data.draft, Date.now()));
  });

  browser.tabs?.onRemoved?.addListener((tabId) => {
    void panelDraftsItem.getValue().then((drafts) => {
      const kept = dropTab(drafts, tabId);
      if (Object.keys(kept).length !== Object.keys(drafts).length) return panelDraftsItem.setValue(kept);
    });
  });
}
