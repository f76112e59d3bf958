import { browser } from "wxt/browser";
import type { Api } from "@/lib/api";
import { onMessage, sendMessage } from "@/lib/messaging";
import type { SessionManager } from "@/lib/session";

/**
 * A file name a person recognises in their downloads: the ticket's title,
 * lower-cased, reduced to letters, digits and dashes; the id only when the
 * title has nothing left (a title in a script the pattern does not keep).
 */
export function exportFileName(title: string, id: string, ext: "md" | "json"): string {
  const slug = title
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60)
    .replace(/-+$/, "");
  return `${slug || id}.${ext}`;
}

/** How long the panel gets to open and listen after the content script is asked to open it. */
const OPEN_PANEL_MS = 5000;

/** Asks a tab's panel to show a ticket; opens the panel first (via the content script) when it is closed. */
async function showInTab(tabId: number, ticket: { title: string; description: string }) {
  const show = () =>
    sendMessage("showTicket", ticket, tabId).catch(() => ({ ok: false, message: undefined }) as const);
  const first = await show();
  if (first.ok) return first;
  const opened = await sendMessage("openPanel", undefined, tabId).catch(() => ({ ok: false }) as const);
  if (!opened.ok) {
    return {
      ok: false,
      message: "Open a create form (Jira, GitLab or Linear) in this tab, then press Insert again.",
    };
  }
  // The panel mounts and starts listening a moment after the launcher opens it.
  const deadline = Date.now() + OPEN_PANEL_MS;
  for (;;) {
    const r = await show();
    if (r.ok || (r.message && !/not open/i.test(r.message)) || Date.now() > deadline) {
      return r.ok ? r : { ok: false, message: r.message ?? "The MyBA panel did not open in this tab." };
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

export function registerHistoryHandlers({
  session,
  getApi,
}: {
  session: SessionManager;
  getApi: () => Promise<Api>;
}): void {
  onMessage("listGenerations", async ({ data }) => {
    const api = await getApi();
    return session.withToken((token) => api.generations(token, data?.cursor));
  });

  onMessage("exportGeneration", async ({ data }) => {
    const api = await getApi();
    const generation = await session.withToken((token) => api.generation(token, data.id));
    const filename = exportFileName(generation.title || generation.prompt, generation.id, data.format);
    if (data.format === "md") {
      const content = await session.withToken((token) => api.generationMarkdown(token, data.id));
      return { filename, content };
    }
    return { filename, content: `${JSON.stringify(generation, null, 2)}\n` };
  });

  onMessage("reinsert", async ({ data }) => {
    const api = await getApi();
    const generation = await session.withToken((token) => api.generation(token, data.id));
    const [tab] = await browser.tabs.query({ active: true, lastFocusedWindow: true });
    if (tab?.id === undefined) return { ok: false, message: "No active tab to insert into." };
    return showInTab(tab.id, { title: generation.title, description: generation.description });
  });
}
