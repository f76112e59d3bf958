import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeBrowser } from "wxt/testing/fake-browser";
import { App } from "@/entrypoints/popup/App";
import { ApiError, type TeamDetail, type TeamSummary } from "@/lib/api";
import { type AccountState, onMessage, type ProtocolMap, removeAllListeners } from "@/lib/messaging";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

/** The popup's Team view against a stand-in background holding one team in memory. */
type Handlers = { [K in keyof ProtocolMap]?: (data: Parameters<ProtocolMap[K]>[0]) => unknown };

const RESETS = "2027-01-01T00:00:00.000Z";

function fakeTeams(role: TeamSummary["role"] = "owner") {
  const calls: { type: string; data: unknown }[] = [];
  let teams: TeamSummary[] = [];
  const members: TeamDetail["members"] = [
    { accountId: "acc_ada", email: "ada@example.com", role, monthlyLimit: null, spent: 2 },
    { accountId: "acc_bob", email: "bob@example.com", role: "member", monthlyLimit: 10, spent: 4 },
  ];
  const state = (): AccountState => ({
    account: { id: "acc_ada", kind: "user", email: "ada@example.com" },
    tokens: { available: 7, held: 0, grants: [] },
    teams,
    apiUrl: "http://api.test",
  });
  const team = (): TeamSummary => ({
    id: "team_0123456789",
    name: "Payments",
    role,
    tokens: { available: 120 },
    limit: { monthly: null, spent: 2, resetsAt: RESETS },
  });
  const handlers: Handlers = {
    getProviders: () => ({ providers: [], devLogin: false }),
    getHealth: () => ({ status: "ok", version: "0", time: "", ai: "openrouter", billing: "demo" }),
    getPlans: () => ({
      packs: [{ id: "pack_50", name: "Starter", tokens: 50, price: { amount: 500, currency: "USD" } }],
      subscriptions: [
        {
          id: "team",
          name: "Team",
          monthlyTokens: 500,
          price: { amount: 4900, currency: "USD" },
          rolloverPercent: 50,
          features: [],
        },
      ],
    }),
    getAccount: state,
    createTeam: ({ name }) => {
      teams = [{ ...team(), name }];
      return state();
    },
    joinTeam: ({ code }) => {
      if (code !== "myba_inv_good")
        throw new ApiError(404, "not_found", "That invite code is unknown or used.");
      teams = [team()];
      return { ...state(), joined: "team_0123456789" };
    },
    getTeam: () => ({
      team: { id: "team_0123456789", name: "Payments", role },
      tokens: { available: 120, held: 0 },
      members: role === "member" ? members.slice(0, 1) : members,
    }),
    teamUsage: () => ({
      days: 30,
      spent: 6,
      generations: 6,
      byMember: { acc_bob: { spent: 4, generations: 4 }, acc_ada: { spent: 2, generations: 2 } },
    }),
    inviteToTeam: () => ({
      code: "myba_inv_abc123",
      expiresAt: "2026-12-08T00:00:00.000Z",
      role: "member",
      monthlyLimit: 20,
    }),
    changeMember: ({ accountId, monthlyLimit, role: next }) => {
      const m = members.find((x) => x.accountId === accountId);
      if (m && monthlyLimit !== undefined) m.monthlyLimit = monthlyLimit;
      if (m && next) m.role = next;
      return m ?? null;
    },
    removeMember: ({ accountId }) => {
      members.splice(
        members.findIndex((m) => m.accountId === accountId),
        1,
      );
      if (accountId === "acc_ada") teams = [];
      return state();
    },
    checkout: () => ({ url: "https://checkout.stripe.test/c/pay/cs_team" }),
  };
  for (const [type, handler] of Object.entries(handlers)) {
    onMessage(
      type as keyof ProtocolMap,
      (async ({ data }: { data: unknown }) => {
        calls.push({ type, data });
        return (handler as (d: unknown) => unknown)(data);
      }) as never,
    );
  }
  return {
    start: (list: "none" | "one") => {
      teams = list === "one" ? [team()] : [];
    },
    sent: (type: keyof ProtocolMap) => calls.filter((c) => c.type === type).map((c) => c.data),
  };
}

let root: Root | null = null;

async function settle(rounds = 8) {
  for (let i = 0; i < rounds; i++) {
    await act(async () => {
      await new Promise((r) => setTimeout(r, 0));
    });
  }
}

async function renderTeam() {
  location.hash = "team";
  const container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
  await act(async () => root?.render(<App />));
  await settle();
  const $ = (id: string, scope: ParentNode = container) =>
    scope.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  const $$ = (id: string) => [...container.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
  return { container, $, $$ };
}

function fill(el: HTMLElement | null, value: string) {
  const input = el as HTMLInputElement;
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")?.set;
  act(() => {
    setter?.call(input, value);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

function choose(el: HTMLElement | null, value: string) {
  const select = el as HTMLSelectElement;
  const setter = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value")?.set;
  act(() => {
    setter?.call(select, value);
    select.dispatchEvent(new Event("change", { bubbles: true }));
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

describe("the Team view", () => {
  it("creates a team and shows its balance and members with their spend this month", async () => {
    const bg = fakeTeams();
    bg.start("none");
    const p = await renderTeam();
    expect(p.$("myba-team")).toBeNull();

    fill(p.$("myba-team-name"), "Payments");
    await click(p.$("myba-team-create"));

    expect(bg.sent("createTeam")).toEqual([{ name: "Payments" }]);
    expect(p.$("myba-team-message")?.textContent).toContain("Team “Payments” created");
    expect(p.$("myba-team-title")?.textContent).toBe("Payments");
    expect(p.$("myba-team-balance")?.textContent).toBe("120 tokens");
    const rows = p.$$("myba-team-member").map((li) => p.$("myba-member-spent", li)?.textContent);
    expect(rows).toEqual(["2 tokens this month, no limit", "4 of 10 tokens this month"]);
    expect(p.$("myba-team-usage")?.textContent).toContain("bob@example.com4 · 4 tickets");
  });

  it("invites with a code to copy", async () => {
    const bg = fakeTeams();
    bg.start("one");
    const p = await renderTeam();
    fill(p.$("myba-invite-limit"), "20");
    await click(p.$("myba-team-invite"));
    expect(bg.sent("inviteToTeam")).toEqual([
      { teamId: "team_0123456789", role: "member", monthlyLimit: 20 },
    ]);
    expect(p.$("myba-invite-code")?.textContent).toBe("myba_inv_abc123");
  });

  it("joins with a code, and a bad code says why", async () => {
    const bg = fakeTeams("member");
    bg.start("none");
    const p = await renderTeam();

    fill(p.$("myba-team-code"), "myba_inv_bad");
    await click(p.$("myba-team-join"));
    expect(p.$("myba-team-message")?.getAttribute("role")).toBe("alert");
    expect(p.$("myba-team-message")?.textContent).toBe("That invite code is unknown or used.");

    fill(p.$("myba-team-code"), "myba_inv_good");
    await click(p.$("myba-team-join"));
    expect(p.$("myba-team-message")?.textContent).toBe("You joined “Payments”.");
    // A member sees their own entry, not the others', and no owner tools.
    expect(p.$$("myba-team-member")).toHaveLength(1);
    expect(p.$("myba-team-invite")).toBeNull();
    expect(p.$("myba-team-usage")).toBeNull();
    expect(p.$("myba-team-leave")).not.toBeNull();
  });

  it("changes a member's limit and role, and removes a member", async () => {
    const bg = fakeTeams();
    bg.start("one");
    const p = await renderTeam();
    const bob = () => p.$$("myba-team-member").find((li) => li.dataset.account === "acc_bob") ?? null;

    fill(p.$("myba-member-limit", bob() as HTMLElement), "25");
    await click(p.$("myba-member-limit-save", bob() as HTMLElement));
    expect(bg.sent("changeMember")).toEqual([
      { teamId: "team_0123456789", accountId: "acc_bob", monthlyLimit: 25 },
    ]);
    expect(p.$("myba-member-spent", bob() as HTMLElement)?.textContent).toBe("4 of 25 tokens this month");

    choose(p.$("myba-member-role", bob() as HTMLElement), "admin");
    await settle();
    expect(bg.sent("changeMember").at(-1)).toEqual({
      teamId: "team_0123456789",
      accountId: "acc_bob",
      role: "admin",
    });

    await click(p.$("myba-member-remove", bob() as HTMLElement));
    expect(bg.sent("removeMember")).toEqual([{ teamId: "team_0123456789", accountId: "acc_bob" }]);
    expect(bob()).toBeNull();
  });

  it("buys for the team: the checkout names the team", async () => {
    const bg = fakeTeams();
    bg.start("one");
    const p = await renderTeam();
    await click(p.$("myba-team-buy-pack_50"));
    expect(p.$("myba-team-buy-team")?.textContent).toContain("/month");
    await click(p.$("myba-team-buy-team"));
    expect(bg.sent("checkout")).toEqual([
      { planId: "pack_50", teamId: "team_0123456789" },
      { planId: "team", teamId: "team_0123456789" },
    ]);
  });
});
