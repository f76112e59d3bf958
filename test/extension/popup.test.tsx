import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeBrowser } from "wxt/testing/fake-browser";
import { App } from "@/entrypoints/popup/App";
import { ApiError, type Tokens } from "@/lib/api";
import { type AccountState, onMessage, type ProtocolMap, removeAllListeners } from "@/lib/messaging";
import { pendingCheckoutItem } from "@/lib/storage";

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

  it("signed out with no anonymous session to return to (an older Worker): says so and offers sign-in, not an error", async () => {
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

  it("shows the balance and each grant with what is left and when it expires", async () => {
    const expiresAt = "2031-03-05T12:00:00.000Z";
    stubBackground({
      getAccount: () =>
        user({
          available: 46,
          held: 1,
          grants: [
            { id: "g1", source: "welcome", remaining: 6, expiresAt },
            { id: "g2", source: "purchase", remaining: 40, expiresAt: null },
            { id: "g3", source: "free", remaining: 0, expiresAt },
          ],
        }),
    });
    const p = await renderPopup();

    expect(p.balance()).toBe("46 tokens");
    const rows = [...(p.$("myba-grants")?.querySelectorAll("li") ?? [])].map((li) => li.textContent);
    const date = new Date(expiresAt).toLocaleDateString(undefined, { dateStyle: "medium" });
    expect(date).toMatch(/2031/);
    expect(rows).toEqual([
      `Welcome bonus6 · expires ${date}`,
      "Purchase40",
      // Used-up grants are left out; what a running generation holds is shown apart.
      "Held by a generation in progress1",
    ]);
  });

  it("dev sign-in sends the email to the background and shows who is signed in", async () => {
    const bg = stubBackground({
      getAccount: () => anonymous(),
      devLogin: ({ email }) => ({
        ...user({ available: 9 }),
        account: { id: "acc_user", kind: "user", email },
        transferred: 3,
        welcomeGranted: true,
      }),
    });
    const p = await renderPopup();
    expect(p.$("myba-popup-account")?.textContent).toBe("Not signed in — trying MyBA anonymously");
    expect(p.$("myba-promo-code")).toBeNull();

    fill(p.$("myba-dev-email"), "grace@example.com");
    await click(p.$("myba-signin-dev"));

    expect(bg.sent("devLogin")).toEqual([{ email: "grace@example.com" }]);
    expect(p.$("myba-popup-account")?.textContent).toBe("Signed in as grace@example.com");
    expect(p.balance()).toBe("9 tokens");
    expect(p.$("myba-account-message")?.textContent).toBe(
      "Signed in as grace@example.com. Moved 3 tokens from this browser. Welcome bonus added.",
    );
    // Signed-in controls replace the sign-in ones.
    expect(p.$("myba-dev-email")).toBeNull();
    expect(p.$("myba-promo-code")).not.toBeNull();
    expect(p.$("myba-signout")).not.toBeNull();
  });

  it("a refused promo code shows the Worker's reason and keeps the code to fix it", async () => {
    const bg = stubBackground({
      getAccount: () => user(),
      redeemPromo: () => {
        throw new ApiError(409, "promo_already_redeemed", "You already redeemed this code.");
      },
    });
    const p = await renderPopup();

    fill(p.$("myba-promo-code"), "LAUNCH50");
    await click(p.$("myba-promo-redeem"));

    expect(bg.sent("redeemPromo")).toEqual([{ code: "LAUNCH50" }]);
    const message = p.$("myba-account-message");
    expect(message?.getAttribute("role")).toBe("alert");
    expect(message?.textContent).toBe("You already redeemed this code.");
    expect((p.$("myba-promo-code") as HTMLInputElement).value).toBe("LAUNCH50");
    expect(p.balance()).toBe("7 tokens");
  });

  it("buying a pack asks the background to open Checkout, then waits for the payment", async () => {
    const bg = stubBackground({
      getAccount: () => user(),
      getPlans: () => ({
        packs: [
          {
            id: "pack_50",
            name: "Starter",
            tokens: 50,
            price: { amount: 500, currency: "USD" },
            firstPurchasePrice: { amount: 250, currency: "USD" },
          },
        ],
        subscriptions: [
          {
            id: "sub_pro",
            name: "Pro",
            monthlyTokens: 200,
            price: { amount: 1500, currency: "USD" },
            rolloverPercent: 25,
            features: [],
          },
        ],
      }),
      checkout: async ({ planId }) => {
        // What the background does once the Checkout tab is open.
        await pendingCheckoutItem.setValue({ planId, before: 7, startedAt: new Date().toISOString() });
        return { url: "https://checkout.stripe.test/c/pay/cs_test_1" };
      },
    });
    const p = await renderPopup("#buy");

    const pack = p.$("myba-buy-pack_50");
    expect(pack?.closest("li")?.textContent).toContain("50 tokens");
    // The first-purchase price, with the usual price struck through.
    expect(pack?.querySelector("s")?.textContent).toMatch(/5\.00/);
    expect(pack?.textContent).toMatch(/2\.50/);
    expect(p.$("myba-buy-sub_pro")?.closest("li")?.textContent).toContain(
      "200 tokens a month, 25% rolls over",
    );
    expect(p.$("myba-checkout-pending")).toBeNull();

    await click(pack);

    expect(bg.sent("checkout")).toEqual([{ planId: "pack_50" }]);
    expect(p.$("myba-checkout-pending")?.textContent).toContain("Waiting for the payment");
  });

  it("an anonymous visitor is asked to sign in before buying", async () => {
    const bg = stubBackground({
      getAccount: () => anonymous(),
      getPlans: () => ({
        packs: [{ id: "pack_50", name: "Starter", tokens: 50, price: { amount: 500, currency: "USD" } }],
        subscriptions: [],
      }),
    });
    const p = await renderPopup("#buy");

    expect(p.$("myba-buy-signin")?.textContent).toContain("Sign in first");
    expect(p.$("myba-buy-pack_50")?.hasAttribute("disabled")).toBe(true);
    await click(p.$("myba-buy-pack_50"));
    expect(bg.sent("checkout")).toEqual([]);
  });
});
