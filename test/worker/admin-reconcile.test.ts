import {
  createExecutionContext,
  createScheduledController,
  env,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { applyEvent } from "../../worker/billing/events";
import { db } from "../../worker/db/client";
import { rateLimits } from "../../worker/db/schema";
import worker from "../../worker/index";
import { muteLogs } from "../../worker/lib/log";
import { wallet } from "../../worker/wallet/client";
import { adminJson, insertGeneration, makeAccount } from "./admin-helpers";
import { event, packSession } from "./billing-helpers";

interface Reconcile {
  ok: boolean;
  accounts: number;
  mismatches: { accountId: string; ledger: number; wallet: number }[];
}

afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs the cron as the runtime would and returns the JSON lines it logged. */
async function runCron(): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  muteLogs(false); // the cron's log line is what this reads
  for (const level of ["log", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
  }
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "*/30 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
  vi.restoreAllMocks();
  muteLogs(!env.MYBA_TEST_LOGS);
  return lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

describe("reconcile", () => {
  it("agrees with the ledger after adjustments both ways", async () => {
    const a = await makeAccount({ email: "rec-a@example.com", tokens: 3 });
    const b = await makeAccount({ email: "rec-b@example.com" });
    await adminJson(`/admin/accounts/${a.id}/adjust`, {
      method: "POST",
      json: { amount: 7, reason: "Goodwill" },
    });
    await adminJson(`/admin/accounts/${a.id}/adjust`, {
      method: "POST",
      json: { amount: -20, reason: "Abuse" },
    });
    await adminJson(`/admin/accounts/${b.id}/adjust`, {
      method: "POST",
      json: { amount: 2, reason: "Support" },
    });

    const r = await adminJson<Reconcile>("/admin/reconcile");
    expect(r).toMatchObject({ ok: true, mismatches: [] });
    expect(r.accounts).toBeGreaterThanOrEqual(2);
    const detail = await adminJson<{ tokens: { balance: number }; stats: { ledger: { sum: number } } }>(
      `/admin/accounts/${a.id}`,
    );
    expect(detail.tokens.balance).toBe(0);
    expect(detail.stats.ledger.sum).toBe(0);
  });

  it("the cron releases a hold whose alarm never ran, then logs a clean reconcile", async () => {
    const a = await makeAccount({ email: "cron-sweep@example.com", tokens: 5 });
    const w = wallet(env, a.id);
    // A generation the Worker lost half-way: its hold outlived its deadline…
    const hold = await w.reserve({ key: "lost-generation", amount: 2, ttlMs: 1000 });
    expect(hold.ok).toBe(true);
    await insertGeneration(a.id, { status: "pending", charged: 0, createdAt: Date.now() - 3_600_000 });
    // …and the wallet's alarm never fired, so only the cron can release it.
    await runInDurableObject(w.stub, async (_instance, state) => {
      await state.storage.deleteAlarm();
    });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await w.balance()).toMatchObject({ available: 3, held: 2 });

    const lines = await runCron();
    const line = lines.find((l) => l.message === "cron.reconcile");
    expect(line).toMatchObject({ level: "info", ok: true, mismatches: [], swept: { wallets: 1, failed: 0 } });
    expect(await w.balance()).toMatchObject({ available: 5, held: 0 });
  });

  it("the cron finishes a Stripe event whose wallet step failed, and drops drained rate limits", async () => {
    const a = await makeAccount({ email: "cron-stripe@example.com" });
    const w = wallet(env, a.id);
    // The purchase is recorded, but the wallet cannot be reached for the grant,
    // and Stripe has stopped redelivering the event.
    const paid = event("checkout.session.completed", packSession(a.id, "starter"));
    await w.stub.setFaults({ unavailable: true });
    await expect(applyEvent(env, paid)).rejects.toThrow();
    await w.stub.setFaults({ unavailable: false });
    const status = () =>
      env.DB.prepare("SELECT status FROM stripe_events WHERE id = ?").bind(paid.id).first<string>("status");
    expect(await status()).toBe("pending");
    expect((await w.balance()).available).toBe(0);

    const now = Date.now();
    await db(env.DB)
      .insert(rateLimits)
      .values([
        { key: "cron:drained", tat: now - 1000 },
        { key: "cron:busy", tat: now + 60_000 },
      ]);

    const line = (await runCron()).find((l) => l.message === "cron.reconcile");
    expect(line).toMatchObject({
      ok: true,
      stripeEvents: { driven: 1, failed: 0 },
      rateLimits: { pruned: expect.any(Number) },
    });
    expect((line as { rateLimits: { pruned: number } }).rateLimits.pruned).toBeGreaterThanOrEqual(1);
    expect(await status()).toBe("done");
    expect((await w.balance()).available).toBe(10);
    const keys = await env.DB.prepare("SELECT key FROM rate_limits WHERE key LIKE 'cron:%'").all<{
      key: string;
    }>();
    expect(keys.results.map((r) => r.key)).toEqual(["cron:busy"]);

    // Once finished, the next run has nothing left to drive and grants nothing more.
    const again = (await runCron()).find((l) => l.message === "cron.reconcile");
    expect(again).toMatchObject({ stripeEvents: { driven: 0, failed: 0 } });
    expect((await w.balance()).available).toBe(10);
  });

  // Last in the file: the planted row stays.
  it("finds a planted ledger row, in the route and in the cron's log", async () => {
    const a = await makeAccount({ email: "rec-planted@example.com", tokens: 4 });
    await env.DB.prepare(
      `INSERT INTO ledger_entries (id, wallet_id, seq, type, amount, balance_after, description, created_at)
       VALUES ('txn_planted', ?, 2, 'grant', 100, 104, 'forged', ?)`,
    )
      .bind(a.id, Date.now())
      .run();
    const r = await adminJson<Reconcile>("/admin/reconcile");
    expect(r.ok).toBe(false);
    expect(r.mismatches).toEqual([expect.objectContaining({ accountId: a.id, ledger: 104, wallet: 4 })]);

    const lines = await runCron();
    const line = lines.find((l) => l.message === "cron.reconcile");
    expect(line).toMatchObject({
      level: "error",
      ok: false,
      mismatches: [expect.objectContaining({ accountId: a.id })],
    });
  });
});
