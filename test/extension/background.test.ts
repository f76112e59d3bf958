import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fakeBrowser } from "wxt/testing/fake-browser";
import { syncGitlabScripts } from "@/entrypoints/background/gitlab-hosts";
import { registerHandlers } from "@/entrypoints/background/handlers";
import { exportFileName } from "@/entrypoints/background/history";
import { createApi } from "@/lib/api";
import { asApiError, removeAllListeners, sendMessage } from "@/lib/messaging";
import { SessionManager } from "@/lib/session";
import { accountItem, gitlabHostsItem, popupViewItem, sessionItem } from "@/lib/storage";
import { fakeWorker } from "./fake-worker";

interface Registered {
  id: string;
  matches: string[];
  js: string[];
}

/** The browser's dynamic content-script registry and granted origins, as fakes. */
function fakeScripting(granted: string[]) {
  const registered = new Map<string, Registered>();
  const permissions = new Set(granted);
  fakeBrowser.scripting.getRegisteredContentScripts = vi.fn(async () => [...registered.values()]) as never;
  fakeBrowser.scripting.registerContentScripts = vi.fn(async (scripts: Registered[]) => {
    for (const s of scripts) {
      if (registered.has(s.id)) throw new Error(`Duplicate script ID '${s.id}'`);
      registered.set(s.id, s);
    }
  }) as never;
  fakeBrowser.scripting.unregisterContentScripts = vi.fn(async ({ ids }: { ids: string[] }) => {
    for (const id of ids) registered.delete(id);
  }) as never;
  fakeBrowser.scripting.executeScript = vi.fn(async () => []) as never;
  fakeBrowser.permissions.contains = vi.fn(async ({ origins }: { origins: string[] }) =>
    origins.every((o) => permissions.has(o)),
  ) as never;
  fakeBrowser.permissions.remove = vi.fn(async ({ origins }: { origins: string[] }) => {
    for (const o of origins) permissions.delete(o);
    return true;
  }) as never;
  fakeBrowser.runtime.getManifest = vi.fn(() => ({
    manifest_version: 3,
    name: "MyBA",
    version: "0.1.0",
    content_scripts: [{ matches: ["https://gitlab.com/*"], js: ["content-scripts/gitlab.js"] }],
  })) as never;
  return { registered, permissions };
}

async function rejection(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (err) {
    return asApiError(err);
  }
  throw new Error("expected the call to fail");
}

function setup() {
  const worker = fakeWorker();
  const getApi = async () => createApi({ baseUrl: "http://api.test", fetch: worker.fetch });
  registerHandlers({ session: new SessionManager(getApi), getApi });
  return { worker };
}

beforeEach(() => fakeBrowser.reset());
afterEach(() => {
  removeAllListeners();
  vi.restoreAllMocks();
});

describe("self-managed GitLab", () => {
  it("enabling a granted origin registers the gitlab content script for it, persistently", async () => {
    const { registered } = fakeScripting(["https://git.acme.dev/*"]);
    setup();
    const settings = await sendMessage("enableGitlabHost", {
      origin: "https://git.acme.dev/group/project/-/issues",
    });
    expect(settings.gitlabHosts).toEqual(["https://git.acme.dev"]);
    const [script] = [...registered.values()];
    expect(script).toMatchObject({
      matches: ["https://git.acme.dev/*"],
      js: ["content-scripts/gitlab.js"],
      persistAcrossSessions: true,
    });
  });

  it("refuses an origin the user did not grant", async () => {
    const { registered } = fakeScripting([]);
    setup();
    const err = await rejection(sendMessage("enableGitlabHost", { origin: "https://git.acme.dev" }));
    expect(err.code).toBe("permission_required");
    expect(registered.size).toBe(0);
    expect(await gitlabHostsItem.getValue()).toEqual([]);
  });

  it("disabling unregisters the script and gives the permission back", async () => {
    const { registered, permissions } = fakeScripting(["https://git.acme.dev/*"]);
    setup();
    await sendMessage("enableGitlabHost", { origin: "https://git.acme.dev" });
    const settings = await sendMessage("disableGitlabHost", { origin: "https://git.acme.dev" });
    expect(settings.gitlabHosts).toEqual([]);
    expect(registered.size).toBe(0);
    expect(permissions.has("https://git.acme.dev/*")).toBe(false);
  });

  it("at startup re-registers stored hosts the browser forgot, and drops ones whose permission was revoked", async () => {
    const { registered } = fakeScripting(["https://git.acme.dev/*"]);
    await gitlabHostsItem.setValue(["https://git.acme.dev", "https://git.revoked.dev"]);
    await syncGitlabScripts();
    await syncGitlabScripts(); // idempotent: no duplicate registration
    expect([...registered.values()].map((s) => s.matches[0])).toEqual(["https://git.acme.dev/*"]);
  });
});

describe("loading the panel", () => {
  it("injects panel.js into the frame that asked", async () => {
    fakeScripting([]);
    setup();
    // fakeBrowser's sendMessage has no sender: deliver the message as a tab's frame would.
    await fakeBrowser.runtime.onMessage.trigger(
      { id: 1, type: "loadPanel", data: undefined, timestamp: Date.now() },
      { tab: { id: 7 } as never, frameId: 3 },
      () => {},
    );
    await vi.waitFor(() =>
      expect(fakeBrowser.scripting.executeScript).toHaveBeenCalledWith({
        target: { tabId: 7, frameIds: [3] },
        files: ["/panel.js"],
      }),
    );
  });
});

describe("settings", () => {
  it("changing the API URL starts over against the new Worker", async () => {
    setup();
    await sessionItem.setValue({ token: "tok_old", kind: "user", accountId: "acc_1" });
    const settings = await sendMessage("setApiUrl", { apiUrl: "https://api.myba.example/" });
    expect(settings.apiUrl).toBe("https://api.myba.example");
    expect(await sessionItem.getValue()).toBeNull();
    expect(await accountItem.getValue()).toBeNull();

    const err = await rejection(sendMessage("setApiUrl", { apiUrl: "ftp://nope" }));
    expect(err.code).toBe("invalid_request");
  });

  it("turns a site off and on", async () => {
    setup();
    expect((await sendMessage("setSiteEnabled", { site: "linear", enabled: false })).sites).toEqual({
      jira: true,
      gitlab: true,
      linear: false,
    });
  });
});

describe("History exports and failures, as the user sees them", () => {
  it("names an export after the ticket's title, not its id", () => {
    expect(exportFileName("Checkout fails on Safari when a gift card is applied", "gen_1", "md")).toBe(
      "checkout-fails-on-safari-when-a-gift-card-is-applied.md",
    );
    expect(exportFileName("Réglage: l'écran « Paiement »", "gen_2", "json")).toBe(
      "reglage-l-ecran-paiement.json",
    );
    expect(exportFileName("!!!", "gen_3", "md")).toBe("gen_3.md");
    expect(exportFileName("x".repeat(200), "gen_4", "md")).toHaveLength(63);
  });

  it("tells a server that is down from a browser that is offline", async () => {
    const failing = createApi({
      baseUrl: "http://api.test",
      fetch: async () => {
        throw new TypeError("Failed to fetch");
      },
    });
    const down = await rejection(failing.me("tok"));
    expect(down).toMatchObject({ code: "network_error", details: { offline: false } });
    expect(down.message).toContain("MyBA's server is unreachable");

    const online = vi.spyOn(navigator, "onLine", "get").mockReturnValue(false);
    const offline = await rejection(failing.me("tok"));
    online.mockRestore();
    expect(offline).toMatchObject({ code: "network_error", details: { offline: true } });
    expect(offline.message).toContain("You are offline");
  });

  it("opening the popup for the panel remembers the view it asked for", async () => {
    setup();
    fakeBrowser.action.openPopup = vi.fn(async () => {}) as never;
    await sendMessage("openPopup", { view: "buy" });
    expect(await popupViewItem.getValue()).toBe("buy");
  });
});
