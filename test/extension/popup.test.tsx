import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeBrowser } from "wxt/testing/fake-browser";
import { App } from "@/entrypoints/popup/App";
import { ApiError, type Tokens } from "@/lib/api";
import { type AccountState, onMessage, type ProtocolMap, removeAllListeners } from "@/lib/messaging";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

/**
 * The popup against a stand-in background: its handlers answer the typed
 * messages the popup sends (lib/messaging.ts), and record what they were asked.
 */
type Handlers = { [K in keyof ProtocolMap]?: (data: Parameters<ProtocolMap[K]>[0]) => unknown };

const anonymous = (tokens: Partial<Tokens> = {}): AccountState => ({
  account: { id: "acc_anon", kind: "anonymous" },
  tokens: { available: 3, held: 0, grants: [], ...tokens },
  apiUrl: "http://api.test",
});

const user = (tokens: Partial<Tokens> = {}): AccountState => ({
  account: { id: "acc_user", kind: "user", email: "ada@example.com" },
  tokens: { available: 7, held: 0, grants: [], ...tokens },
  apiUrl: "http://api.test",
});

function stubBackground(handlers: Handlers) {
  const calls: { type: string; data: unknown }[] = [];
  const all: Handlers = {
    getProviders: () => ({ providers: [], devLogin: true }),
    getPlans: () => ({ packs: [], subscriptions: [] }),
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
  return {
    calls,
    sent: (type: keyof ProtocolMap) => calls.filter((c) => c.type === type).map((c) => c.data),
  };
}

let root: Root | null = null;

async function renderPopup(hash = "") {
  location.hash = hash;
  const container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
  await act(async () => root?.render(<App />));
  await settle();
  const $ = (id: string) => container.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  /** The header's balance as read aloud: the figure, then its unit. */
  const balance = () => [...($("myba-popup-balance")?.children ?? [])].map((c) => c.textContent).join(" ");
  return { container, $, balance };
}

/** Lets the messages in flight (and the renders they cause) land. */
async function settle(rounds = 5) {
  for (let i = 0; i < rounds; i++) {
    await act(async () => {
      await new Promise((r) => setTimeout(r, 0));
    });
  }
}

function fill(el: HTMLElement | null, value: string) {
  const input = el as HTMLInputElement;
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")?.set;
  act(() => {
    setter?.call(input, value);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

async function click(el: HTMLElement | null) {
  if (!el) throw new Error("nothing to click");
  act(() => el.click());
  await settle();
}

beforeEach(() => {
  fakeBrowser.reset();
});
afterEach(() => {
  act(() => root?.unmount());
  root = null;
  removeAllListeners();
  document.body.innerHTML = "";
});

describe("the popup", () => {
  it("counts tokens in good English: a one-token balance, one token moved at sign-in", async () => {
    stubBackground({
      getAccount: () => anonymous({ available: 1 }),
      devLogin: ({ email }) => ({
        ...user({ available: 7 }),
        account: { id: "acc_user", kind: "user", email },
        transferred: 1,
        welcomeGranted: 6,
      }),
    });
    const p = await renderPopup();
    expect(p.balance()).toBe("1 token");

    fill(p.$("myba-dev-email"), "ada@example.com");
    await click(p.$("myba-signin-dev"));

    expect(p.$("myba-account-message")?.textContent).toBe(
      "Signed in as ada@example.com. Moved 1 token from this browser. Welcome bonus: +6 tokens.",
    );
    expect(p.balance()).toBe("7 tokens");
  });

  it("signed out with no anonymous session to return to: says so and offers sign-in, not an error", async () => {
    let signedIn = true;
    const bg = stubBackground({
      getAccount: () => {
        if (signedIn) return user();
        throw new ApiError(
          403,
          "sign_in_required",
          "This browser's free tokens already moved to your MyBA account. Sign in to continue.",
        );
      },
      signOut: () => {
        signedIn = false;
        return null;
      },
    });
    const p = await renderPopup();
    expect(p.$("myba-popup-account")?.textContent).toBe("Signed in as ada@example.com");

    await click(p.$("myba-signout"));

    expect(p.$("myba-account-message")?.textContent).toBe("Signed out.");
    expect(p.$("myba-popup-account")?.textContent).toBe("Signed out");
    expect(p.balance()).toBe("– tokens");
    expect(p.$("myba-sign-in-required")?.textContent).toContain("Sign in to continue");
    expect(p.$("myba-popup-error")).toBeNull();
    expect(p.$("myba-dev-email")).not.toBeNull();
    expect(p.$("myba-signout")).toBeNull();
    // One look at the background after signing out; nothing keeps asking.
    await settle(10);
    expect(bg.sent("getAccount").length).toBeLessThanOrEqual(3);
  });
});
