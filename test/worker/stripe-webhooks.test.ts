import { env } from "cloudflare:test";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { applyEvent, drivePendingEvents } from "../../worker/billing/events";
import { wallet } from "../../worker/wallet/client";
import { reconcile } from "../../worker/wallet/reconcile";
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
  packSession,
  spend,
  subscriptionSession,
  type TestEvent,
  tokensOf,
  WEBHOOK_SECRET,
} from "./billing-helpers";

const paidPack = (accountId: string, planId = "professional", opts: Parameters<typeof packSession>[2] = {}) =>
  event("checkout.session.completed", packSession(accountId, planId, opts));

/** A paid checkout of the "pro" subscription ($15.00 a month). */
const proCheckout = (accountId: string, ids: { session: string; customer: string; subscription: string }) =>
  event("checkout.session.completed", subscriptionSession(accountId, "pro", ids));

/** The professional pack: 50 tokens for $19.00, paid through `paymentIntent`. */
const buyProfessional = (accountId: string, paymentIntent: string) =>
  deliver(paidPack(accountId, "professional", { paymentIntent, amount: 1900 }));

/** Stripe delivers at least once: the same event, sent again after it was handled. */
async function deliverTwice(e: Parameters<typeof deliver>[0]) {
  await deliver(e);
  await deliver(e);
}

async function eventRow(id: string) {
  return env.DB.prepare("SELECT status, debited FROM stripe_events WHERE id = ?")
    .bind(id)
    .first<{ status: string; debited: number | null }>();
}

describe("webhook signatures", () => {
  it("refuses forged, missing and stale signatures with 400 and changes nothing", async () => {
    const acc = await newAccount();
    const e = paidPack(acc.id);

    const forged = await deliver(e, { secret: "whsec_someone_else" });
    expect(forged.status).toBe(400);
    expect(await forged.json()).toMatchObject({ error: { code: "invalid_request" } });

    const missing = await deliver(e, { header: null });
    expect(missing.status).toBe(400);

    const garbage = await deliver(e, { header: "t=1,v1=deadbeef" });
    expect(garbage.status).toBe(400);

    const stale = await deliver(e, { timestamp: nowSec() - 10 * 60 });
    expect(stale.status).toBe(400);

    // A genuine signature over another body: the body was tampered with.
    const acc2 = await newAccount();
    const other = paidPack(acc2.id, "starter");
    const signature = await Stripe.webhooks.generateTestHeaderStringAsync({
      payload: JSON.stringify(other),
      secret: WEBHOOK_SECRET,
      cryptoProvider: Stripe.createSubtleCryptoProvider(),
    });
    const tampered = await call("/api/webhooks/stripe", {
      method: "POST",
      rawBody: JSON.stringify({
        ...other,
        data: { object: { ...other.data.object, metadata: { planId: "enterprise" } } },
      }),
      headers: { "Stripe-Signature": signature },
    });
    expect(tampered.status).toBe(400);

    expect((await deliver(e)).status).toBe(200);
    expect(await availableOf(acc2.id)).toBe(0);
    expect(await eventRow(other.id)).toBeNull();
    // The refused deliveries left no trace: the genuine one granted exactly once.
    expect(await availableOf(acc.id)).toBe(50);
  });

  it("answers 503 when the webhook secret is not configured", async () => {
    const res = await call("/api/webhooks/stripe", {
      method: "POST",
      rawBody: "{}",
      headers: { "Stripe-Signature": "t=1,v1=00" },
      env: { ...env },
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: "unavailable" } });
  });
});

describe("pack purchases", () => {
  it("grants the plan's tokens once, whatever the event claims", async () => {
    const acc = await newAccount();
    const session = packSession(acc.id, "starter", { amount: 999_999 });
    const e = event("checkout.session.completed", {
      ...session,
      metadata: { planId: "starter", tokens: "5000" },
    });
    const res = await deliver(e);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ received: true, status: "done", duplicate: false });
    const tokens = await tokensOf(acc.id);
    expect(tokens.available).toBe(10);
    expect(tokens.purchased).toBe(10);
    expect(tokens.grants).toEqual([expect.objectContaining({ source: "purchase", remaining: 10 })]);
  });

  it("grants once for sequential duplicate deliveries", async () => {
    const acc = await newAccount();
    const e = paidPack(acc.id);
    for (let i = 0; i < 3; i++) expect((await deliver(e)).status).toBe(200);
    const again = await deliver(e);
    expect(await again.json()).toMatchObject({ duplicate: true, status: "done" });
    expect(await availableOf(acc.id)).toBe(50);
  });

  it("grants once for concurrent duplicate deliveries", async () => {
    const acc = await newAccount();
    const e = paidPack(acc.id);
    const results = await Promise.all(Array.from({ length: 8 }, () => deliver(e)));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(await availableOf(acc.id)).toBe(50);
    expect((await tokensOf(acc.id)).purchased).toBe(50);
  });

  it("grants one session once even if completed and async-succeeded both say paid", async () => {
    const acc = await newAccount();
    const session = packSession(acc.id, "starter");
    await deliver(event("checkout.session.completed", session));
    await deliver(event("checkout.session.async_payment_succeeded", session));
    expect(await availableOf(acc.id)).toBe(10);
  });

  it("waits for async_payment_succeeded when the session completes unpaid", async () => {
    const acc = await newAccount();
    const session = packSession(acc.id, "starter", { paymentStatus: "unpaid" });
    const completed = await deliver(event("checkout.session.completed", session));
    expect(await completed.json()).toMatchObject({ status: "ignored" });
    expect(await availableOf(acc.id)).toBe(0);

    const succeeded = event("checkout.session.async_payment_succeeded", {
      ...session,
      payment_status: "paid",
    });
    await deliverTwice(succeeded);
    expect(await availableOf(acc.id)).toBe(10);
  });

  it("counts every purchase in GET /api/me's tokens.purchased", async () => {
    const acc = await newAccount();
    await deliver(paidPack(acc.id, "starter"));
    await deliver(paidPack(acc.id, "professional"));
    await deliver(paidPack(acc.id, "starter"));
    const me = await call("/api/me", { token: acc.token });
    expect(me.status).toBe(200);
    const body = await me.json<{ tokens: { available: number; purchased: number } }>();
    expect(body.tokens).toMatchObject({ available: 70, purchased: 70 });
  });

  it("ignores a paid session for an unknown plan or account, once", async () => {
    const acc = await newAccount();
    const res = await deliver(paidPack(acc.id, "no-such-plan"));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ignored" });
    const stranger = await deliver(paidPack("acc_nobody", "starter"));
    expect(await stranger.json()).toMatchObject({ status: "ignored" });
    expect(await availableOf(acc.id)).toBe(0);
  });

  it("refuses an unreadable payload with 400 and records nothing", async () => {
    const acc = await newAccount();
    const e = event("charge.refunded", { id: "ch_x", payment_intent: "pi_x", amount_refunded: "lots" });
    const res = await deliver(e);
    expect(res.status).toBe(400);
    expect(await eventRow(e.id)).toBeNull();
    expect(await availableOf(acc.id)).toBe(0);
  });
});

describe("refunds and disputes", () => {
  it("a full refund takes back the whole unspent purchase", async () => {
    const acc = await newAccount();
    const pi = "pi_full_refund";
    await buyProfessional(acc.id, pi);
    expect(await availableOf(acc.id)).toBe(50);
    const refund = event("charge.refunded", charge(pi, 1900, 1900));
    await deliverTwice(refund);
    const tokens = await tokensOf(acc.id);
    expect(tokens.available).toBe(0);
    expect((await eventRow(refund.id))?.debited).toBe(50);
  });

  it("two partial refunds take back their pro-rata shares, in either order", async () => {
    for (const order of ["in order", "reversed"] as const) {
      const acc = await newAccount();
      const pi = `pi_partial_${order.replace(" ", "_")}`;
      await buyProfessional(acc.id, pi);
      const first = event("charge.refunded", charge(pi, 1900, 380)); // 20% → 10 tokens
      const second = event("charge.refunded", charge(pi, 1900, 950)); // 50% in all → 25 tokens
      const events = order === "in order" ? [first, second] : [second, first];
      await deliver(events[0] as typeof first);
      await deliver(events[1] as typeof first);
      await deliver(first);
      expect(await availableOf(acc.id), order).toBe(25);
    }
  });

  it("concurrent partial refunds claim disjoint shares", async () => {
    const acc = await newAccount();
    const pi = "pi_concurrent_refunds";
    await buyProfessional(acc.id, pi);
    const refunds = [380, 950, 1520].map((r) => event("charge.refunded", charge(pi, 1900, r)));
    await Promise.all([...refunds, ...refunds].map((e) => deliver(e)));
    // 1520 / 1900 of 50 tokens = 40 taken back, however the deliveries interleaved.
    expect(await availableOf(acc.id)).toBe(10);
  });

  it("a dispute after part was spent takes back only what is left of that purchase", async () => {
    const acc = await newAccount();
    const pi = "pi_disputed";
    await deliver(paidPack(acc.id, "starter", { paymentIntent: "pi_other_pack", amount: 500 }));
    await buyProfessional(acc.id, pi);
    await spend(acc.id, 30); // the starter's 10 (bought first, same priority) then 20 of the disputed pack
    expect(await availableOf(acc.id)).toBe(30);

    const d = event("charge.dispute.created", dispute(pi, 1900));
    await deliverTwice(d);
    const tokens = await tokensOf(acc.id);
    expect(tokens.available).toBe(0);
    expect((await eventRow(d.id))?.debited).toBe(30);
  });

  it("a refund before its purchase is recorded waits, then applies once the purchase is paid", async () => {
    const acc = await newAccount();
    const pi = "pi_refund_first";
    const refund = event("charge.refunded", charge(pi, 1900, 950));
    const early = await deliver(refund);
    expect(early.status).toBe(200);
    expect(await early.json()).toMatchObject({ status: "deferred" });

    await buyProfessional(acc.id, pi);
    expect(await availableOf(acc.id)).toBe(25);
    expect(await eventRow(refund.id)).toMatchObject({ status: "done", debited: 25 });
    await deliver(refund);
    expect(await availableOf(acc.id)).toBe(25);
  });

  it("a refund racing its purchase still applies exactly once", async () => {
    const acc = await newAccount();
    const pi = "pi_race";
    const refund = event("charge.refunded", charge(pi, 1900, 1900));
    const paid = paidPack(acc.id, "professional", { paymentIntent: pi, amount: 1900 });
    await Promise.all([deliver(refund), deliver(paid), deliver(refund), deliver(paid)]);
    expect(await availableOf(acc.id)).toBe(0);
    expect((await tokensOf(acc.id)).purchased).toBe(50);
  });
});

/** The dispute of `created` as charge.dispute.closed carries it: the same dispute, with its final status. */
const closed = (created: TestEvent, status: "won" | "lost" | "warning_closed", id?: string) =>
  event("charge.dispute.closed", { ...created.data.object, status }, id);

/** The account's ledger in D1, oldest first. */
async function ledger(accountId: string) {
  const { results } = await env.DB.prepare(
    "SELECT type, amount, description FROM ledger_entries WHERE wallet_id = ? ORDER BY seq",
  )
    .bind(accountId)
    .all<{ type: string; amount: number; description: string }>();
  return results;
}

/** D1's ledger sums to the wallet's balance, and reconcile finds nothing wrong with this wallet. */
async function expectLedgerBalanced(accountId: string) {
  const rows = await ledger(accountId);
  expect(rows.reduce((sum, r) => sum + r.amount, 0)).toBe((await tokensOf(accountId)).balance);
  expect((await reconcile(env)).mismatches.filter((m) => m.accountId === accountId)).toEqual([]);
}

async function purchaseOf(paymentIntent: string) {
  return env.DB.prepare("SELECT refunded_amount, disputed_amount FROM purchases WHERE payment_intent_id = ?")
    .bind(paymentIntent)
    .first<{ refunded_amount: number; disputed_amount: number }>();
}

describe("won disputes", () => {
  it("a won dispute gives back exactly what the dispute took, as a purchase grant", async () => {
    const acc = await newAccount();
    const pi = "pi_won_full";
    await buyProfessional(acc.id, pi);
    const created = event("charge.dispute.created", dispute(pi, 1900));
    await deliver(created);
    expect(await availableOf(acc.id)).toBe(0);

    const won = closed(created, "won");
    const res = await deliver(won);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "done", duplicate: false });
    const tokens = await tokensOf(acc.id);
    expect(tokens.available).toBe(50);
    expect(tokens.purchased).toBe(50); // given back, not bought again
    expect(tokens.grants).toEqual([expect.objectContaining({ source: "purchase", remaining: 50 })]);
    expect(await ledger(acc.id)).toEqual([
      { type: "purchase", amount: 50, description: "Bought 50 tokens" },
      { type: "chargeback", amount: -50, description: "Payment disputed: unspent tokens removed" },
      { type: "chargeback", amount: 50, description: "Dispute won: removed tokens restored" },
    ]);
    expect(await eventRow(won.id)).toMatchObject({ status: "done", debited: 0 });
    expect(await purchaseOf(pi)).toEqual({ refunded_amount: 0, disputed_amount: 0 });
    await expectLedgerBalanced(acc.id);
  });

  it("after part was spent, gives back only what the dispute took", async () => {
    const acc = await newAccount();
    const pi = "pi_won_spent";
    await deliver(paidPack(acc.id, "starter", { paymentIntent: "pi_won_spent_other", amount: 500 }));
    await buyProfessional(acc.id, pi);
    await spend(acc.id, 30); // the starter's 10, then 20 of the disputed pack
    const created = event("charge.dispute.created", dispute(pi, 1900));
    await deliver(created);
    expect(await availableOf(acc.id)).toBe(0);

    await deliver(closed(created, "won"));
    expect(await availableOf(acc.id)).toBe(30);
    const entries = (await ledger(acc.id)).filter((e) => e.type === "chargeback");
    expect(entries.map((e) => e.amount)).toEqual([-30, 30]);
    await expectLedgerBalanced(acc.id);
  });

  it("a dispute that took nothing gives nothing back", async () => {
    const acc = await newAccount();
    const pi = "pi_won_nothing_left";
    await buyProfessional(acc.id, pi);
    await spend(acc.id, 50);
    const created = event("charge.dispute.created", dispute(pi, 1900));
    await deliver(created);
    const won = closed(created, "won");
    await deliver(won);
    expect(await availableOf(acc.id)).toBe(0);
    expect(await eventRow(won.id)).toMatchObject({ status: "done" });
    expect((await ledger(acc.id)).map((e) => e.type)).toEqual(["purchase", "usage"]);
    await expectLedgerBalanced(acc.id);
  });

  it("a monthly allowance comes back as allowance, expiring when its period ends", async () => {
    const acc = await newAccount();
    const pi = "pi_won_allowance";
    const start = nowSec() - DAY;
    const end = start + 30 * DAY;
    const paid = invoice(
      acc.id,
      "pro",
      "sub_won_allowance",
      { start, end },
      { billingReason: "subscription_create" },
    );
    await deliver(event("invoice.paid", paid));
    await deliver(event("invoice_payment.paid", invoicePayment(paid.id, pi)));
    const created = event("charge.dispute.created", dispute(pi, 1500));
    await deliver(created);
    expect(await availableOf(acc.id)).toBe(0);
    await deliver(closed(created, "won"));
    const tokens = await tokensOf(acc.id);
    expect(tokens.available).toBe(100);
    expect(tokens.grants).toEqual([
      expect.objectContaining({
        source: "allowance",
        remaining: 100,
        expiresAt: new Date(end * 1000).toISOString(),
      }),
    ]);
    await expectLedgerBalanced(acc.id);
  });

  it("restores once for sequential and concurrent duplicates, and for a second closed event", async () => {
    const acc = await newAccount();
    const pi = "pi_won_duplicates";
    await buyProfessional(acc.id, pi);
    await spend(acc.id, 10);
    const created = event("charge.dispute.created", dispute(pi, 1900));
    await deliver(created);
    const won = closed(created, "won");
    for (let i = 0; i < 3; i++) expect((await deliver(won)).status).toBe(200);
    const again = await deliver(won);
    expect(await again.json()).toMatchObject({ status: "done", duplicate: true });
    const results = await Promise.all(Array.from({ length: 8 }, () => deliver(won)));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    // Another event closing the same dispute changes nothing either.
    const other = closed(created, "won");
    expect(await (await deliver(other)).json()).toMatchObject({ status: "ignored" });

    expect(await availableOf(acc.id)).toBe(40);
    expect((await ledger(acc.id)).filter((e) => e.type === "chargeback").map((e) => e.amount)).toEqual([
      -40, 40,
    ]);
    await expectLedgerBalanced(acc.id);
  });

  it("restores once when the first deliveries of a won dispute race each other", async () => {
    const acc = await newAccount();
    const pi = "pi_won_race";
    await buyProfessional(acc.id, pi);
    const created = event("charge.dispute.created", dispute(pi, 950)); // half: 25 tokens
    await deliver(created);
    expect(await availableOf(acc.id)).toBe(25);
    const won = closed(created, "won");
    await Promise.all(Array.from({ length: 6 }, () => deliver(won)));
    expect(await availableOf(acc.id)).toBe(50);
    expect(await purchaseOf(pi)).toEqual({ refunded_amount: 0, disputed_amount: 0 });
    await expectLedgerBalanced(acc.id);
  });

  it("ends the same whichever of purchase, dispute and its win arrives first", {
    timeout: 30_000,
  }, async () => {
    const orders = [
      ["paid", "created", "won"],
      ["won", "created", "paid"],
      ["created", "won", "paid"],
      ["won", "paid", "created"],
    ] as const;
    for (const order of orders) {
      const acc = await newAccount();
      const pi = `pi_won_order_${order.join("_")}`;
      const created = event("charge.dispute.created", dispute(pi, 950));
      const steps = {
        paid: paidPack(acc.id, "professional", { paymentIntent: pi, amount: 1900 }),
        created,
        won: closed(created, "won"),
      };
      for (const step of order) expect((await deliver(steps[step])).status, order.join(" ")).toBe(200);
      await deliver(steps.won);
      expect(await availableOf(acc.id), order.join(" ")).toBe(50);
      expect(await eventRow(steps.won.id), order.join(" ")).toMatchObject({ status: "done" });
      // Taken and given back: the same entries as in order.
      expect((await ledger(acc.id)).map((e) => [e.type, e.amount])).toEqual([
        ["purchase", 50],
        ["chargeback", -25],
        ["chargeback", 25],
      ]);
      expect(await purchaseOf(pi)).toEqual({ refunded_amount: 0, disputed_amount: 0 });
      await expectLedgerBalanced(acc.id);
    }
  });

  it("a lost dispute gives nothing back", async () => {
    const acc = await newAccount();
    const pi = "pi_dispute_lost";
    await buyProfessional(acc.id, pi);
    const created = event("charge.dispute.created", dispute(pi, 1900));
    await deliver(created);
    const end = closed(created, "lost");
    const res = await deliver(end);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ignored" });
    await deliver(end);
    expect(await availableOf(acc.id)).toBe(0);
    expect(await purchaseOf(pi)).toEqual({ refunded_amount: 0, disputed_amount: 1900 });
    await expectLedgerBalanced(acc.id);
  });

  it("an inquiry closed without a chargeback gives the tokens back, once", async () => {
    const acc = await newAccount();
    const pi = "pi_inquiry_closed";
    await buyProfessional(acc.id, pi);
    const created = event("charge.dispute.created", dispute(pi, 1900));
    await deliver(created);
    expect(await availableOf(acc.id)).toBe(0);
    const end = closed(created, "warning_closed");
    expect(await (await deliver(end)).json()).toMatchObject({ status: "done" });
    await deliver(end);
    expect(await availableOf(acc.id)).toBe(50);
    expect(await purchaseOf(pi)).toEqual({ refunded_amount: 0, disputed_amount: 0 });
    await expectLedgerBalanced(acc.id);
  });

  it("a refund after a won dispute ends the same in either order, the dispute's shortfall included", {
    timeout: 30_000,
  }, async () => {
    for (const order of ["won first", "refund first"] as const) {
      const acc = await newAccount();
      const pi = `pi_won_then_refund_${order.replace(" ", "_")}`;
      await buyProfessional(acc.id, pi); // bought first: burns first
      await deliver(paidPack(acc.id, "starter", { paymentIntent: `${pi}_other`, amount: 500 }));
      await spend(acc.id, 20); // 30 of the professional pack left, the starter's 10 untouched
      const created = event("charge.dispute.created", dispute(pi, 1900));
      await deliver(created);
      // The chargeback takes the 30 left and the shortfall from the other paid pack (decision 008).
      expect(await availableOf(acc.id)).toBe(0);

      const won = closed(created, "won");
      const refund = event("charge.refunded", charge(pi, 1900, 1900));
      const events = order === "won first" ? [won, refund] : [refund, won];
      for (const e of events) await deliverTwice(e);
      // The win gives back the 40 taken; the full refund takes them again: of 60 tokens
      // bought, 50 were refunded and 20 used, so none are left that were paid for.
      expect(await availableOf(acc.id), order).toBe(0);
      expect(await purchaseOf(pi), order).toEqual({ refunded_amount: 1900, disputed_amount: 0 });
      await expectLedgerBalanced(acc.id);
    }
  });

  it("a partial refund after a won dispute takes its pro-rata share of the purchase", async () => {
    const acc = await newAccount();
    const pi = "pi_won_partial_refund";
    await buyProfessional(acc.id, pi);
    const created = event("charge.dispute.created", dispute(pi, 1900));
    await deliver(created);
    await deliver(closed(created, "won"));
    expect(await availableOf(acc.id)).toBe(50);
    await deliverTwice(event("charge.refunded", charge(pi, 1900, 950)));
    expect(await availableOf(acc.id)).toBe(25);
    await expectLedgerBalanced(acc.id);
  });

  it("a win that arrives while its chargeback cannot reach the wallet waits, and the cron finishes both", async () => {
    const acc = await newAccount();
    const pi = "pi_won_wallet_down";
    await buyProfessional(acc.id, pi);
    const created = event("charge.dispute.created", dispute(pi, 1900));
    const w = wallet(env, acc.id);
    await w.stub.setFaults({ unavailable: true });
    await expect(applyEvent(env, created)).rejects.toThrow();
    const won = closed(created, "won");
    await expect(applyEvent(env, won)).resolves.toMatchObject({ status: "deferred" });
    await w.stub.setFaults({ unavailable: false });

    expect(await drivePendingEvents(env)).toEqual({ driven: 1, failed: 0 });
    expect(await eventRow(created.id)).toMatchObject({ status: "done", debited: 50 });
    expect(await eventRow(won.id)).toMatchObject({ status: "done" });
    expect(await availableOf(acc.id)).toBe(50);
    expect(await drivePendingEvents(env)).toEqual({ driven: 0, failed: 0 });
    await deliver(won);
    expect(await availableOf(acc.id)).toBe(50);
    await expectLedgerBalanced(acc.id);
  });

  it("a restore whose wallet call failed is finished by the cron, once", async () => {
    const acc = await newAccount();
    const pi = "pi_won_restore_down";
    await buyProfessional(acc.id, pi);
    const created = event("charge.dispute.created", dispute(pi, 1900));
    await deliver(created);
    const won = closed(created, "won");
    const w = wallet(env, acc.id);
    await w.stub.setFaults({ loseAnswers: { op: "grant", times: 1 } });
    await expect(applyEvent(env, won)).rejects.toThrow();
    expect(await eventRow(won.id)).toMatchObject({ status: "pending" });

    expect(await drivePendingEvents(env)).toEqual({ driven: 1, failed: 0 });
    expect(await eventRow(won.id)).toMatchObject({ status: "done" });
    expect(await availableOf(acc.id)).toBe(50);
    expect((await ledger(acc.id)).filter((e) => e.amount > 0).map((e) => e.type)).toEqual([
      "purchase",
      "chargeback",
    ]);
    await expectLedgerBalanced(acc.id);
  });
});

describe("crash between steps", () => {
  it("an event recorded without its grant is completed by the next delivery, once", async () => {
    const acc = await newAccount();
    const e = paidPack(acc.id, "starter");
    // Step 1 committed, then the Worker died before the wallet grant.
    await env.DB.prepare(
      `INSERT INTO purchases (id, account_id, plan_id, kind, checkout_session_id, payment_intent_id, amount, currency, tokens, created_at)
       VALUES ('pur_crash', ?, 'starter', 'pack', ?, 'pi_crash', 500, 'usd', 10, ?)`,
    )
      .bind(acc.id, e.data.object.id, Date.now())
      .run();
    await env.DB.prepare(
      `INSERT INTO stripe_events (id, type, status, claim, purchase_id, created_at)
       VALUES (?, 'checkout.session.completed', 'pending', 'x', 'pur_crash', ?)`,
    )
      .bind(e.id, Date.now())
      .run();
    expect(await availableOf(acc.id)).toBe(0);

    const [a, b] = await Promise.all([deliver(e), deliver(e)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await availableOf(acc.id)).toBe(10);
    expect(await eventRow(e.id)).toMatchObject({ status: "done" });
    expect(await drivePendingEvents(env)).toEqual({ driven: 0, failed: 0 });
  });

  it("a grant made before the crash is not made again when the event is driven", async () => {
    const acc = await newAccount();
    const e = paidPack(acc.id, "starter");
    await applyEvent(env, e);
    // As if the wallet grant succeeded but marking the event done was lost.
    await env.DB.prepare("UPDATE stripe_events SET status = 'pending' WHERE id = ?").bind(e.id).run();
    await env.DB.prepare("UPDATE purchases SET grant_id = NULL WHERE checkout_session_id = ?")
      .bind(e.data.object.id)
      .run();
    expect(await drivePendingEvents(env)).toEqual({ driven: 1, failed: 0 });
    await deliver(e);
    expect(await availableOf(acc.id)).toBe(10);
  });
});

describe("subscriptions", () => {
  it("records the subscription on checkout and grants the allowance on invoice.paid", async () => {
    const acc = await newAccount();
    const sub = "sub_basic";
    const start = nowSec() - DAY;
    const end = start + 30 * DAY;
    await deliver(
      proCheckout(acc.id, { session: "cs_test_sub_basic", customer: "cus_basic", subscription: sub }),
    );
    expect(await availableOf(acc.id)).toBe(0);
    const paid = event("invoice.paid", invoice(acc.id, "pro", sub, { start, end }));
    await Promise.all([deliver(paid), deliver(paid)]);
    const tokens = await tokensOf(acc.id);
    expect(tokens.available).toBe(100);
    expect(tokens.purchased).toBe(0); // allowances are not purchases
    expect(tokens.grants).toEqual([
      expect.objectContaining({
        source: "allowance",
        remaining: 100,
        expiresAt: new Date(end * 1000).toISOString(),
      }),
    ]);
    const me = await (await call("/api/me", { token: acc.token })).json<{ account: { plan?: string } }>();
    expect(me.account.plan).toBe("pro");
  });

  it("a renewal carries unused tokens over, up to the plan's 50% cap", async () => {
    const acc = await newAccount();
    const sub = "sub_rollover";
    const t0 = nowSec() - 29 * DAY;
    const t1 = t0 + 30 * DAY; // one day from now
    await deliver(event("invoice.paid", invoice(acc.id, "pro", sub, { start: t0, end: t1 })));
    await spend(acc.id, 20); // 80 unused: 50 may carry over

    await deliver(event("invoice.paid", invoice(acc.id, "pro", sub, { start: t1, end: t1 + 30 * DAY })));
    const tokens = await tokensOf(acc.id);
    const byExpiry = tokens.grants.map((g) => [g.remaining, g.expiresAt]);
    expect(byExpiry).toEqual([
      [30, new Date(t1 * 1000).toISOString()], // what is left of the old period, until it ends
      [150, new Date((t1 + 30 * DAY) * 1000).toISOString()], // 100 + 50 carried over
    ]);
    expect(tokens.available).toBe(180);
  });

  it("a renewal arriving after the old allowance expired still carries its unused part", async () => {
    const acc = await newAccount();
    const sub = "sub_late_renewal";
    const t0 = nowSec() - 31 * DAY;
    const t1 = nowSec() - DAY; // ended yesterday
    await deliver(event("invoice.paid", invoice(acc.id, "pro", sub, { start: t0, end: t1 })));
    expect(await availableOf(acc.id)).toBe(0); // expired at its period end
    const renewal = event("invoice.paid", invoice(acc.id, "pro", sub, { start: t1, end: t1 + 30 * DAY }));
    await deliverTwice(renewal);
    expect(await availableOf(acc.id)).toBe(150);
  });

  it("cancellation stops future allowances, in any order", async () => {
    const acc = await newAccount();
    const sub = "sub_canceled";
    const t0 = nowSec() - 10 * DAY;
    const t1 = t0 + 30 * DAY;
    await deliver(event("invoice.paid", invoice(acc.id, "pro", sub, { start: t0, end: t1 })));
    const deleted = event("customer.subscription.deleted", {
      id: sub,
      object: "subscription",
      status: "canceled",
      customer: "cus_x",
      canceled_at: nowSec(),
      ended_at: nowSec(),
      metadata: { accountId: acc.id, planId: "pro" },
    });
    await deliver(deleted);
    // The current period's allowance stays; the next one never comes.
    await deliver(event("invoice.paid", invoice(acc.id, "pro", sub, { start: t1, end: t1 + 30 * DAY })));
    expect(await availableOf(acc.id)).toBe(100);
    const me = await (await call("/api/me", { token: acc.token })).json<{ account: { plan?: string } }>();
    expect(me.account.plan).toBeUndefined();

    // A checkout.session.completed arriving after the deletion does not revive it.
    await deliver(
      proCheckout(acc.id, { session: "cs_test_sub_canceled", customer: "cus_x", subscription: sub }),
    );
    const after = await (await call("/api/me", { token: acc.token })).json<{ account: { plan?: string } }>();
    expect(after.account.plan).toBeUndefined();
  });
});
