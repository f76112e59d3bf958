import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fakeBrowser } from "wxt/testing/fake-browser";
import { App, SLOW_MS } from "@/entrypoints/popup/App";
import { ApiError, createApi, type Health } from "@/lib/api";
import { type AccountState, onMessage, type ProtocolMap, removeAllListeners } from "@/lib/messaging";
import {
  checkoutArrivedItem,
  consentItem,
  pendingCheckoutItem,
  popupViewItem,
  visitorIdItem,
} from "@/lib/storage";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

/**
 * The popup's first minutes (issue 16) against a stand-in background: the
 * device-identifier choice, the Demo AI marker, the view the panel asked
 * for, a purchase that lands, and a server that does not answer.
 */
type Handlers = { [K in keyof ProtocolMap]?: (data: Parameters<ProtocolMap[K]>[0]) => unknown };

const user = (available = 7): AccountState => ({
  account: { id: "acc_user", kind: "user", email: "ada@example.com" },
  tokens: { available, held: 0, grants: [] },
  teams: [],
  apiUrl: "http://api.test",
});
const health = (ai: Health["ai"]): Health => ({ status: "ok", version: "0", time: "", ai, billing: "demo" });

function stubBackground(handlers: Handlers) {
  const calls: { type: string; data: unknown }[] = [];
  const all: Handlers = {
    getProviders: () => ({ providers: [], devLogin: true }),
    getPlans: () => ({ packs: [], subscriptions: [] }),
    getHealth: () => health("openrouter"),
    listGenerations: () => ({ items: [] }),
    ...handlers,
  };
  for (const [type, handler] of Object.entries(all)) {
    onMessage(
      type as keyof ProtocolMap,
      (async ({ data }: { data: unknown }) => {
        calls.push({ type, data });
        return (handler as (d: unknown) => unknown)(data);
      }) as never,
    );
  }
  return { sent: (type: keyof ProtocolMap) => calls.filter((c) => c.type === type).map((c) => c.data) };
}

let root: Root | null = null;

async function settle(rounds = 6) {
  for (let i = 0; i < rounds; i++) {
    await act(async () => {
      await new Promise((r) => setTimeout(r, 0));
    });
  }
}

async function renderPopup() {
  location.hash = "";
  const container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
  await act(async () => root?.render(<App />));
  await settle();
  const $ = (id: string) => container.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  return { container, $ };
}

async function click(el: HTMLElement | null) {
  if (!el) throw new Error("nothing to click");
  act(() => el.click());
  await settle();
}

const visitorIdRequired = () => {
  throw new ApiError(0, "visitor_id_required", "The browser's visitor id is needed to start a session.");
};

beforeEach(() => {
  fakeBrowser.reset();
});
afterEach(() => {
  act(() => root?.unmount());
  root = null;
  removeAllListeners();
  document.body.innerHTML = "";
  vi.useRealTimers();
});

describe("the device identifier is asked for first", () => {
  it("before any choice: the popup asks, and sends no visitor id", async () => {
    const bg = stubBackground({ getAccount: visitorIdRequired });
    const p = await renderPopup();

    expect(p.$("myba-consent")?.textContent).toContain("device identifier");
    expect(p.$("myba-popup-account")?.textContent).toBe("Welcome");
    expect(p.$("myba-popup-error")).toBeNull();
    expect(bg.sent("getAccount").every((d) => !(d as { visitorId?: string }).visitorId)).toBe(true);
    expect(await visitorIdItem.getValue()).toBeNull();
  });

  it("signing in without it: the choice is kept, the sign-in form shows, still no visitor id", async () => {
    const bg = stubBackground({ getAccount: visitorIdRequired });
    const p = await renderPopup();

    await click(p.$("myba-consent-decline"));

    expect((await consentItem.getValue())?.choice).toBe("declined");
    expect(p.$("myba-consent")).toBeNull();
    expect(p.$("myba-sign-in-required")?.textContent).toContain("No device identifier is used");
    expect(p.$("myba-dev-email")).not.toBeNull();
    expect(bg.sent("getAccount").every((d) => !(d as { visitorId?: string }).visitorId)).toBe(true);
  });
});

describe("what the popup says about the server", () => {
  it("marks the demo model when /api/health says mock, and not otherwise", async () => {
    stubBackground({ getAccount: () => user(), getHealth: () => health("mock") });
    const p = await renderPopup();
    expect(p.$("myba-demo-ai")?.textContent).toBe("Demo AI");
    act(() => root?.unmount());
    removeAllListeners();

    stubBackground({ getAccount: () => user(), getHealth: () => health("openrouter") });
    const q = await renderPopup();
    expect(q.$("myba-demo-ai")).toBeNull();
  });

  it("a server that is down: says unreachable, not Loading…", async () => {
    const down = createApi({
      baseUrl: "http://127.0.0.1:9",
      fetch: async () => {
        throw new TypeError("Failed to fetch");
      },
    });
    const reason = await down.me("tok").catch((e: ApiError) => e);
    stubBackground({
      getAccount: () => {
        throw reason;
      },
    });
    const p = await renderPopup();
    expect(p.$("myba-popup-error")?.textContent).toContain("MyBA's server is unreachable");
    expect(p.$("myba-popup-account")?.textContent).toBe("Not connected");
    expect(p.container.textContent).not.toContain("Loading…");
    // Nothing to sign in to while the server is away; one button to look again.
    expect(p.$("myba-dev-email")).toBeNull();
    expect(p.$("myba-popup-retry")?.textContent).toBe("Try again");
  });

  it("a server that never answers: says so within a few seconds", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    stubBackground({ getAccount: () => new Promise(() => {}) });
    const p = await renderPopup();
    expect(p.$("myba-popup-slow")).toBeNull();
    await act(async () => {
      vi.advanceTimersByTime(SLOW_MS + 10);
    });
    expect(p.$("myba-popup-slow")?.textContent).toContain("not answering");
  });
});

describe("token states", () => {
  it("opens on the view the panel asked for, once", async () => {
    await popupViewItem.setValue("buy");
    stubBackground({ getAccount: () => user() });
    const p = await renderPopup();
    expect(p.$("myba-tab-buy")?.getAttribute("aria-current")).toBe("page");
    expect(await popupViewItem.getValue()).toBeNull();
  });

  it("the wait for a payment ends when the tokens arrive, with +N tokens", async () => {
    await popupViewItem.setValue("buy");
    await pendingCheckoutItem.setValue({ planId: "pack_50", before: 7, startedAt: new Date().toISOString() });
    let available = 7;
    vi.useFakeTimers({ shouldAdvanceTime: true });
    stubBackground({ getAccount: () => user(available) });
    const p = await renderPopup();
    expect(p.$("myba-checkout-pending")?.textContent).toContain("Waiting for the payment");

    available = 57; // the webhook granted the pack
    await act(async () => {
      vi.advanceTimersByTime(3100);
    });
    await settle();

    expect(p.$("myba-checkout-pending")).toBeNull();
    expect(p.$("myba-checkout-arrived")?.textContent).toBe("Payment confirmed: +50 tokens.");
    expect(await pendingCheckoutItem.getValue()).toBeNull();
    expect((await checkoutArrivedItem.getValue())?.added).toBe(50);
  });
});

describe("History", () => {
  it("shows a ticket in full", async () => {
    stubBackground({
      getAccount: () => user(),
      listGenerations: () => ({
        items: [
          {
            id: "gen_1",
            site: "jira",
            feature: "generate",
            issueType: "bug",
            prompt: "Checkout fails on Safari",
            title: "Checkout fails on Safari with a gift card",
            description: "## Steps\n\n1. Apply a gift card",
            charged: 1,
            model: null,
            status: "completed",
            createdAt: "2026-12-01T10:00:00.000Z",
          },
        ],
      }),
    });
    const p = await renderPopup();
    await click(p.$("myba-tab-history"));
    expect(p.$("myba-history-full")).toBeNull();
    await click(p.$("myba-history-show"));
    expect(p.$("myba-history-full")?.textContent).toContain("## Steps\n\n1. Apply a gift card");
  });
});

describe("Settings: a self-managed GitLab", () => {
  const onTab = (url: string, gitlab: boolean) => {
    fakeBrowser.tabs.query = vi.fn(async () => [{ id: 7, url }]) as never;
    fakeBrowser.scripting.executeScript = vi.fn(async () => [{ frameId: 0, result: gitlab }]) as never;
    const created = vi.fn(async (props: { url?: string }) => ({ id: 8, ...props }));
    fakeBrowser.tabs.create = created as never;
    return created;
  };
  const settings = () => ({
    apiUrl: "http://api.test",
    apiUrlOverride: null,
    defaultApiUrl: "http://api.test",
    sites: { jira: true, gitlab: true, linear: true },
    gitlabHosts: [],
  });

  it("offers MyBA only on a page that looks like GitLab, and sends the user to the options page for it", async () => {
    const created = onTab("https://git.acme.dev/group/app/-/issues/new", true);
    stubBackground({ getAccount: () => user(), getSettings: settings });
    const p = await renderPopup();
    await click(p.$("myba-tab-settings"));
    await click(p.$("myba-enable-site"));
    expect(created).toHaveBeenCalledWith({
      url: expect.stringMatching(/\/options\.html#https%3A%2F%2Fgit\.acme\.dev$/),
    });
  });

  it("says nothing of enabling on any other https site", async () => {
    onTab("https://news.example.com/today", false);
    stubBackground({ getAccount: () => user(), getSettings: settings });
    const p = await renderPopup();
    await click(p.$("myba-tab-settings"));
    expect(p.$("myba-enable-site")).toBeNull();
    expect(p.$("myba-open-options")).not.toBeNull();
  });
});
