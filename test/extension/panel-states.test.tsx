import { act } from "react";
import { describe, expect, it, vi } from "vitest";
import type { AccountState } from "@/lib/messaging";
import type { PanelDraft } from "@/lib/storage";
import type { TeamWallet } from "@/panel/wallet";
import {
  anonymous,
  click,
  done,
  insufficientTokens,
  resetAfterEach,
  settle,
  setup,
  type,
} from "./panel-harness";

vi.mock("dompurify", () => ({ default: { sanitize: (html: string) => html } }));

resetAfterEach();

const user = (available: number, teams?: TeamWallet[]): AccountState =>
  ({
    account: { id: "acc_user", kind: "user", email: "a@b.c" },
    tokens: { available, held: 0 },
    apiUrl: "http://api.test",
    ...(teams ? { teams } : {}),
  }) as AccountState;

const acme: TeamWallet = {
  id: "team_0123456789ab",
  name: "Acme",
  role: "member",
  tokens: { available: 40 },
  limit: { monthly: 20, spent: 15, resetsAt: "2027-01-01T00:00:00.000Z" },
};

/** The background's session storage for drafts, shared by every panel opened in one test. */
function draftStore() {
  const drafts = new Map<string, PanelDraft>();
  return {
    drafts,
    extra: {
      loadDraft: vi.fn(async (form: string) => drafts.get(form) ?? null),
      saveDraft: vi.fn(async (form: string, draft: PanelDraft | null) => {
        if (draft) drafts.set(form, draft);
        else drafts.delete(form);
      }),
    },
  };
}

describe("the panel never loses work", () => {
  it("closing and reopening keeps the prompt and the ticket already paid for, until it is inserted", async () => {
    const store = draftStore();
    const first = await setup({ extra: store.extra });
    first.generate("Checkout fails with a gift card");
    first.emit(done);
    first.unmount();
    expect([...store.drafts.values()][0]).toMatchObject({
      prompt: "Checkout fails with a gift card",
      result: { phase: "done", ticket: { title: "Fix login on Safari" }, charged: 1 },
    });

    const again = await setup({ extra: store.extra });
    await settle();
    expect((again.$("myba-input") as HTMLTextAreaElement).value).toBe("Checkout fails with a gift card");
    expect(again.$("myba-preview")?.textContent).toContain("Fix login on Safari");
    // Nothing was sent again: the ticket is the one already paid for.
    expect(again.posted).toHaveLength(0);

    click(again.$("myba-insert"));
    await settle();
    await act(async () => {
      await new Promise((r) => setTimeout(r, 350));
    });
    expect(store.drafts.size).toBe(0);
  });

  it("a prompt typed and left is kept; Discard forgets it", async () => {
    const store = draftStore();
    const first = await setup({ extra: store.extra });
    type(first.$("myba-input"), "Dark mode for the settings page");
    first.unmount();
    const again = await setup({ extra: store.extra });
    await settle();
    expect((again.$("myba-input") as HTMLTextAreaElement).value).toBe("Dark mode for the settings page");
    again.generate("Dark mode for the settings page");
    again.emit({ type: "delta", text: "Title: Dark mode" });
    again.emit({ type: "stopped" });
    click(again.$("myba-discard"));
    expect((again.$("myba-input") as HTMLTextAreaElement).value).toBe("");
    expect(again.$("myba-preview")).toBeNull();
    again.unmount();
    expect(store.drafts.size).toBe(0);
  });

  it("after Insert the panel is one line out of the form's way; New ticket starts afresh", async () => {
    const p = await setup();
    p.generate("Add dark mode");
    p.emit(done);
    click(p.$("myba-insert"));
    await settle();
    expect(p.$("myba-inserted")?.textContent).toContain("Inserted into the form");
    expect(p.$("myba-input")).toBeNull();
    expect(p.$("myba-preview")).toBeNull();
    click(p.$("myba-new"));
    expect((p.$("myba-input") as HTMLTextAreaElement).value).toBe("");
  });
});

describe("token states that stay true", () => {
  it("at 0 tokens the primary action is Sign in for an anonymous user, Buy for a signed-in one", async () => {
    const anon = await setup({ account: anonymous(0) });
    const signIn = anon.$("myba-signin");
    expect(signIn?.dataset.variant).toBe("primary");
    expect(anon.$("myba-generate")?.dataset.variant).toBeUndefined();
    click(signIn);
    expect(anon.deps.openPopup).toHaveBeenCalledWith("account");
    anon.unmount();

    const signedIn = await setup({ account: user(0) });
    expect(signedIn.$("myba-buy")?.dataset.variant).toBe("primary");
    click(signedIn.$("myba-buy"));
    expect(signedIn.deps.openPopup).toHaveBeenCalledWith("buy");

    // Tokens arrive: Generate is the primary action again.
    signedIn.pushAccount(user(5));
    expect(signedIn.$("myba-generate")?.dataset.variant).toBe("primary");
    expect(signedIn.$("myba-buy")).toBeNull();
  });

  it("a 'not enough tokens' error clears once the balance changes (sign-in, a purchase)", async () => {
    const p = await setup({ account: anonymous(1) });
    p.generate("Split the checkout epic");
    p.fail(insufficientTokens({ required: 1, available: 0 }));
    expect(p.$("myba-error")?.textContent).toContain("you have 0");
    p.pushAccount(user(6));
    expect(p.$("myba-balance")?.textContent).toBe("6 tokens");
    expect(p.$("myba-error")).toBeNull();
  });

  it("a server failure stays when the balance moves: it is not about the balance", async () => {
    const p = await setup({ account: user(5) });
    p.generate("Add dark mode");
    p.fail({ status: 502, code: "upstream_error", message: "The model did not answer." });
    p.pushAccount(user(9));
    expect(p.$("myba-error")).not.toBeNull();
  });
});

describe("honest and clear", () => {
  it("marks the demo model as Demo AI, and only the demo model", async () => {
    const demo = await setup({ extra: { getHealth: async () => ({ ai: "mock", billing: "demo" }) } });
    await settle();
    expect(demo.$("myba-demo")?.textContent).toBe("Demo AI");
    demo.unmount();
    const real = await setup({ extra: { getHealth: async () => ({ ai: "openrouter", billing: "stripe" }) } });
    await settle();
    expect(real.$("myba-demo")).toBeNull();
  });

  it("tells 'you are offline' from 'MyBA's server is unreachable'", async () => {
    const networkError = { status: 0, code: "network_error", message: "Could not reach MyBA." };
    const offline = await setup({ extra: { online: () => false } });
    offline.generate("Add dark mode");
    offline.fail(networkError);
    expect(offline.$("myba-error")?.textContent).toContain("You are offline");
    offline.unmount();

    const online = await setup({ extra: { online: () => true } });
    online.generate("Add dark mode");
    online.fail(networkError);
    expect(online.$("myba-error")?.textContent).toContain("MyBA's server is unreachable");
    expect(online.$("myba-error")?.textContent).not.toContain("offline");
  });
});

describe("who pays", () => {
  it("no teams: no choice shown", async () => {
    const p = await setup({ account: user(5) });
    expect(p.$("myba-wallet")).toBeNull();
  });

  it("a member picks the team; the badge shows what they can spend; the choice is sent and remembered per site", async () => {
    const walletChoice = { get: vi.fn(async () => null), set: vi.fn(async () => {}) };
    const p = await setup({ account: user(5, [acme]), extra: { walletChoice } });
    const picker = p.$("myba-wallet") as HTMLSelectElement;
    expect([...picker.options].map((o) => o.textContent)).toEqual([
      "My tokens · 5 tokens",
      "Acme · 5 tokens",
    ]);
    act(() => {
      picker.value = acme.id;
      picker.dispatchEvent(new Event("change", { bubbles: true }));
    });
    expect(walletChoice.set).toHaveBeenCalledWith("jira", acme.id);
    // 40 in the team, but 5 left of a 20-token monthly limit.
    expect(p.$("myba-balance")?.textContent).toBe("5 tokens · Acme");
    expect(p.$("myba-wallet-note")?.textContent).toContain("5 of your 20 left until 1 January");

    p.generate("Add dark mode");
    expect(p.posted[0]).toMatchObject({ type: "start", request: { wallet: acme.id } });
  });

  it("a remembered team is chosen again on open", async () => {
    const walletChoice = { get: vi.fn(async () => acme.id), set: vi.fn(async () => {}) };
    const p = await setup({ account: user(5, [acme]), extra: { walletChoice } });
    await settle();
    expect((p.$("myba-wallet") as HTMLSelectElement).value).toBe(acme.id);
    expect(walletChoice.get).toHaveBeenCalledWith("jira");
  });

  it("a spent monthly limit has its own message: who to ask and when it resets, not 'not enough tokens'", async () => {
    const walletChoice = { get: vi.fn(async () => acme.id), set: vi.fn(async () => {}) };
    const p = await setup({ account: user(5, [acme]), extra: { walletChoice } });
    await settle();
    p.generate("Add dark mode");
    p.fail({
      status: 402,
      code: "member_limit_reached",
      message: "Monthly limit reached.",
      details: { limit: 20, spent: 20, resetsAt: "2027-01-01T00:00:00.000Z" },
    });
    const error = p.$("myba-error");
    expect(error?.dataset.code).toBe("member_limit_reached");
    expect(error?.textContent).toContain("Ask a team owner or admin");
    expect(error?.textContent).toContain("resets on 1 January");
    expect(error?.textContent).toContain("Acme");
    expect(error?.textContent).not.toContain("Not enough tokens");
    click(p.$("myba-pay-personally"));
    expect((p.$("myba-wallet") as HTMLSelectElement).value).toBe("");
    expect(p.$("myba-balance")?.textContent).toBe("5 tokens");
  });
});

describe("before the first choice", () => {
  it("no consent to the device identifier yet: the panel sends the user to MyBA's popup to choose", async () => {
    const p = await setup({
      loadAccount: () =>
        Promise.reject({
          status: 0,
          code: "consent_required",
          message: "Choose how to start with MyBA first: open MyBA from the browser's toolbar.",
        }),
    });
    await settle();
    expect(p.$("myba-consent-required")?.textContent).toContain("Choose how to start");
    expect(p.$("myba-account-error")).toBeNull();
    click(p.$("myba-start"));
    expect(p.deps.openPopup).toHaveBeenCalledWith("account");
  });
});
