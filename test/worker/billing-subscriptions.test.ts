import { env, runInDurableObject } from "cloudflare:test";
import Stripe from "stripe";
import { describe, expect, inject, it } from "vitest";
import { STRIPE_API_VERSION } from "../../worker/billing/stripe";
import { wallet } from "../../worker/wallet/client";
import type { Wallet } from "../../worker/wallet/wallet";
import {
  availableOf,
  call,
  charge,
  DAY,
  deliver,
  dispute,
  event,
  invoice,
  invoicePayment,
  newAccount,
  nowSec,
  spend,
  subscription,
  subscriptionSession,
  type TestEvent,
  tokensOf,
} from "./billing-helpers";

/** The "pro" subscription: 100 tokens a month for $15.00, 50% rollover. */
const PRO = { tokens: 100, price: 1500 };

const uid = () => crypto.randomUUID().replaceAll("-", "").slice(0, 16);

/** A subscriber: the account, its subscription id, and the current period. */
async function subscriber() {
  const acc = await newAccount();
  const sub = `sub_${uid()}`;
  const start = nowSec() - DAY;
  return { acc, sub, start, end: start + 30 * DAY };
}

const planOf = async (token: string) =>
  (await (await call("/api/me", { token })).json<{ account: { plan?: string } }>()).account.plan;

/** The plan the account's wallet holds (access.ts): what the generate route checks features against. */
const walletPlanOf = (accountId: string) =>
  runInDurableObject(
    wallet(env, accountId).stub,
    (_: Wallet, state) =>
      state.storage.sql.exec<{ plan: string | null }>("SELECT plan FROM owner_state").toArray()[0]?.plan ??
      null,
  );

/** Every ordering of `events`, delivered one after another. */
function orders<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) =>
    orders([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]),
  );
}

describe("payloads the Worker cannot read", () => {
  it("answer 400 and are not recorded, whatever the event type, never 500", async () => {
    const acc = await newAccount();
    const inv = invoice(acc.id, "pro", `sub_${uid()}`, { start: nowSec(), end: nowSec() + DAY });
    const bad: [string, unknown][] = [
      ["invoice.paid", { ...inv, amount_paid: "1500" }],
      ["invoice.paid", { ...inv, parent: "subscription_details" }],
      ["invoice_payment.paid", { ...invoicePayment("in_x", "pi_x"), payment: "pi_x" }],
      ["customer.subscription.updated", { ...subscription(acc.id, "pro", "sub_x", "active"), id: 42 }],
      ["charge.dispute.created", { ...dispute("pi_x", 100), amount: -5 }],
      ["checkout.session.completed", ["not", "an", "object"]],
    ];
    for (const [type, object] of bad) {
      const e = { ...event(type, {}), data: { object } } as TestEvent;
      const res = await deliver(e);
      expect(res.status, type).toBe(400);
      expect(await res.json(), type).toMatchObject({ error: { code: "invalid_request" } });
      const row = await env.DB.prepare("SELECT id FROM stripe_events WHERE id = ?").bind(e.id).first();
      expect(row, type).toBeNull();
    }
    expect(await availableOf(acc.id)).toBe(0);
  });
});

describe("Stripe API version", () => {
  it("pins the version the SDK speaks on every request to Stripe", async () => {
    expect(STRIPE_API_VERSION).toBe(Stripe.API_VERSION);
    const acc = await newAccount();
    expect((await call("/api/checkout", { token: acc.token, body: { planId: "starter" } })).status).toBe(200);
    const all = await (await fetch(`${inject("fakes").stripe}/__fake/requests`)).json<
      { path: string; body: Record<string, unknown>; stripeVersion?: string }[]
    >();
    const mine = all.filter((r) => JSON.stringify(r.body).includes(acc.id));
    expect(mine.length).toBeGreaterThan(0);
    for (const r of mine) expect(r.stripeVersion).toBe("2026-10-28.endive");
  });
});

describe("allowances by billing reason (decision 008)", () => {
  it("the subscription's start and each renewal give the monthly allowance", async () => {
    const { acc, sub, start, end } = await subscriber();
    await deliver(
      event(
        "checkout.session.completed",
        subscriptionSession(acc.id, "pro", {
          session: `cs_test_${uid()}`,
          customer: `cus_${uid()}`,
          subscription: sub,
        }),
      ),
    );
    await deliver(
      event(
        "invoice.paid",
        invoice(acc.id, "pro", sub, { start, end }, { billingReason: "subscription_create" }),
      ),
    );
    expect(await availableOf(acc.id)).toBe(PRO.tokens);
    expect(await planOf(acc.token)).toBe("pro");
    await spend(acc.id, 100);
    await deliver(event("invoice.paid", invoice(acc.id, "pro", sub, { start: end, end: end + 30 * DAY })));
    expect(await availableOf(acc.id)).toBe(PRO.tokens);
  });

  it("a proration gives the share of the allowance it paid for, and carries nothing over", async () => {
    const { acc, sub, start, end } = await subscriber();
    await deliver(
      event(
        "invoice.paid",
        invoice(acc.id, "pro", sub, { start, end }, { billingReason: "subscription_create" }),
      ),
    );
    await spend(acc.id, 10);
    const mid = start + 10 * DAY;
    await deliver(
      event(
        "invoice.paid",
        invoice(
          acc.id,
          "pro",
          sub,
          { start: mid, end },
          { billingReason: "subscription_update", amount: 500, proration: true },
        ),
      ),
    );
    // $5.00 of a $15.00 plan: a third of its 100 tokens, expiring with the period.
    expect(await availableOf(acc.id)).toBe(90 + 33);
    const grants = (await tokensOf(acc.id)).grants;
    expect(grants.map((g) => g.expiresAt)).toEqual([
      new Date(end * 1000).toISOString(),
      new Date(end * 1000).toISOString(),
    ]);

    // The renewal carries over from the period's allowance (90 unused: cap 50), not from the proration.
    await deliver(event("invoice.paid", invoice(acc.id, "pro", sub, { start: end, end: end + 30 * DAY })));
    const after = await tokensOf(acc.id);
    expect(
      after.grants.find((g) => g.expiresAt === new Date((end + 30 * DAY) * 1000).toISOString())?.remaining,
    ).toBe(150);
  });

  it("manual, $0 and other invoices give nothing", async () => {
    const { acc, sub, start, end } = await subscriber();
    const cases = [
      invoice(acc.id, "pro", sub, { start, end }, { billingReason: "manual" }),
      invoice(acc.id, "pro", sub, { start, end }, { billingReason: "subscription_cycle", amount: 0 }),
      invoice(acc.id, "pro", sub, { start, end }, { billingReason: "subscription_create", amount: 0 }),
      invoice(
        acc.id,
        "pro",
        sub,
        { start, end },
        { billingReason: "subscription_update", amount: 0, proration: true },
      ),
      invoice(acc.id, "pro", sub, { start, end }, { billingReason: "subscription_threshold" }),
    ];
    for (const inv of cases) {
      const res = await deliver(event("invoice.paid", inv));
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: "ignored" });
    }
    expect(await availableOf(acc.id)).toBe(0);
  });
});

describe("refunds and disputes of subscription payments", () => {
  /** A renewal paid through `pi`, as Stripe sends it since basil: the invoice, then its payment. */
  function renewal(accountId: string, sub: string, pi: string, period: { start: number; end: number }) {
    const inv = invoice(accountId, "pro", sub, period);
    return {
      paid: event("invoice.paid", inv),
      payment: event("invoice_payment.paid", invoicePayment(inv.id, pi)),
    };
  }

  it("a full refund of a renewal takes back its unspent allowance, in any order of the three events", {
    timeout: 30_000,
  }, async () => {
    for (const order of orders(["paid", "payment", "refund"] as const)) {
      const { acc, sub, start, end } = await subscriber();
      const pi = `pi_${uid()}`;
      const { paid, payment } = renewal(acc.id, sub, pi, { start, end });
      const refund = event("charge.refunded", charge(pi, PRO.price, PRO.price));
      const byName: Record<(typeof order)[number], TestEvent> = { paid, payment, refund };
      for (const name of order) expect((await deliver(byName[name])).status, order.join(",")).toBe(200);
      expect(await availableOf(acc.id), order.join(",")).toBe(0);
      // A redelivery changes nothing.
      for (const name of order) await deliver(byName[name]);
      expect(await availableOf(acc.id), order.join(",")).toBe(0);
    }
  });

  it("a partial refund of a renewal takes its pro-rata share of what is left", async () => {
    const { acc, sub, start, end } = await subscriber();
    const pi = `pi_${uid()}`;
    const { paid, payment } = renewal(acc.id, sub, pi, { start, end });
    await deliver(paid);
    await deliver(payment);
    await deliver(event("charge.refunded", charge(pi, PRO.price, 750)));
    expect(await availableOf(acc.id)).toBe(50);
  });

  it("a dispute of a renewal claws back like a pack's, and a won dispute gives it back", async () => {
    const { acc, sub, start, end } = await subscriber();
    const pi = `pi_${uid()}`;
    const { paid, payment } = renewal(acc.id, sub, pi, { start, end });
    const created = event("charge.dispute.created", dispute(pi, PRO.price));
    await deliver(created);
    await deliver(paid);
    expect(await availableOf(acc.id)).toBe(PRO.tokens); // the payment intent is not known yet
    await deliver(payment);
    expect(await availableOf(acc.id)).toBe(0);
    const won = { ...created, id: `evt_${uid()}`, type: "charge.dispute.closed" };
    won.data = { object: { ...created.data.object, status: "won" } };
    await deliver(won);
    expect(await availableOf(acc.id)).toBe(PRO.tokens);
  });

  it("without an invoice_payment event, the Invoice Payments API names the payment intent", async () => {
    const { acc, sub, start, end } = await subscriber();
    const pi = `pi_${uid()}`;
    const inv = invoice(acc.id, "pro", sub, { start, end });
    await fetch(`${inject("fakes").stripe}/__fake/invoice_payments`, {
      method: "POST",
      body: JSON.stringify(invoicePayment(inv.id, pi)),
    });
    await deliver(event("invoice.paid", inv));
    await deliver(event("charge.dispute.created", dispute(pi, PRO.price)));
    expect(await availableOf(acc.id)).toBe(0);
    const asked = await (await fetch(`${inject("fakes").stripe}/__fake/requests`)).json<
      { method: string; path: string; stripeVersion?: string }[]
    >();
    expect(asked.some((r) => r.method === "GET" && r.path === "/v1/invoice_payments")).toBe(true);
  });

  it("an invoice that carries its payments (expanded) needs no invoice_payment event", async () => {
    const { acc, sub, start, end } = await subscriber();
    const pi = `pi_${uid()}`;
    const inv = invoice(acc.id, "pro", sub, { start, end });
    const expanded = {
      ...inv,
      payments: { object: "list", data: [invoicePayment(inv.id, pi)], has_more: false },
    };
    await deliver(event("invoice.paid", expanded));
    await deliver(event("charge.refunded", charge(pi, PRO.price, PRO.price)));
    expect(await availableOf(acc.id)).toBe(0);
  });
});

describe("subscription status (decision 008)", () => {
  it("past due, unpaid and canceled stop the plan's features; paid again restores them", async () => {
    const { acc, sub, start, end } = await subscriber();
    await deliver(
      event(
        "invoice.paid",
        invoice(acc.id, "pro", sub, { start, end }, { billingReason: "subscription_create" }),
      ),
    );
    expect(await planOf(acc.token)).toBe("pro");

    const updated = (status: string, created: number) => ({
      ...event("customer.subscription.updated", subscription(acc.id, "pro", sub, status)),
      created,
    });
    const t = nowSec();
    expect(await walletPlanOf(acc.id)).toBe("pro");
    await deliver(updated("past_due", t));
    // The account's plan is what the generate route checks features against.
    expect(await planOf(acc.token)).toBeUndefined();
    expect(await walletPlanOf(acc.id)).toBeNull();
    // The allowance already granted stays: it was paid for.
    expect(await availableOf(acc.id)).toBe(PRO.tokens);
    await deliver(updated("active", t + 10));
    expect(await planOf(acc.token)).toBe("pro");
    // An older event delivered late does not override a newer one.
    await deliver(updated("unpaid", t + 5));
    expect(await planOf(acc.token)).toBe("pro");
    await deliver(updated("unpaid", t + 20));
    expect(await planOf(acc.token)).toBeUndefined();

    await deliver(updated("active", t + 30));
    expect(await planOf(acc.token)).toBe("pro");
    expect(await walletPlanOf(acc.id)).toBe("pro");
    const deleted = event(
      "customer.subscription.deleted",
      subscription(acc.id, "pro", sub, "canceled", { canceledAt: t, endedAt: t }),
    );
    await deliver({ ...deleted, created: t + 40 });
    expect(await planOf(acc.token)).toBeUndefined();
    expect(await walletPlanOf(acc.id)).toBeNull();
    // Canceled is for good: a later "active" does not revive it.
    await deliver(updated("active", t + 50));
    expect(await planOf(acc.token)).toBeUndefined();
  });
});
