import { browser } from "wxt/browser";
import { type Api, ApiError } from "@/lib/api";
import { type Health, onMessage } from "@/lib/messaging";
import { panelDraftsItem } from "@/lib/storage";

/** Drafts older than this are dropped when the next one is saved (a tab left open for days). */
const DRAFT_TTL_MS = 24 * 60 * 60 * 1000;
/** How long one /api/health answer is reused: the panel asks on every open. */
const HEALTH_TTL_MS = 60_000;

/**
 * What the panel asks of the background besides generating: its draft per
 * tab and form (session storage, which content scripts cannot reach in every
 * browser), and the Worker's health for the "Demo AI" marker.
 */
export function registerPanelHandlers(getApi: () => Promise<Api>): void {
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

  let health: { at: number; base: string; value: Promise<Health> } | null = null;
  onMessage("getHealth", async () => {
    const api = await getApi();
    if (!health || health.base !== api.baseUrl || Date.now() - health.at > HEALTH_TTL_MS) {
      const value = api.raw("/api/health").then(async (res) => {
        if (!res.ok) throw new ApiError(res.status, "unavailable", "MyBA's health check failed.");
        const body = (await res.json()) as Partial<Health>;
        return {
          ai: body.ai === "mock" ? "mock" : "openrouter",
          billing: body.billing === "demo" ? "demo" : "stripe",
        } as Health;
      });
      health = { at: Date.now(), base: api.baseUrl, value };
      value.catch(() => {
        health = null;
      });
    }
    return health.value;
  });
}
