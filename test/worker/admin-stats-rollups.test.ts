import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { computeStats } from "../../worker/admin/stats";
import { adminJson } from "./admin-helpers";
import { scanStats } from "./admin-stats-scan";

const DAY = 86_400_000;
const now = Date.now();

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
}

/** The scan's percentile floored like the rollup's buckets: two significant digits. */
function floor2(v: number | null): number | null {
  if (v === null || v < 100) return v;
  const unit = 10 ** (Math.floor(Math.log10(v)) - 1);
  return Math.floor(v / unit) * unit;
}

/**
 * Rows written straight into D1, the way every code path ends up writing them:
 * inserts, then the updates a settle, a refund or a sign-in makes, and a
 * deleted pending row (a generation that never started).
 */
async function seed(random: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const at = () => now - Math.floor(random() * 40 * DAY);
  const statements: D1PreparedStatement[] = [];
  const users: string[] = [];
  for (let i = 0; i < 30; i++) {
    const id = `acc_rollup_user_${i}`;
    users.push(id);
    statements.push(
      env.DB.prepare(
        "INSERT INTO accounts (id, kind, email, status, created_at) VALUES (?, 'user', ?, 'active', ?)",
      ).bind(id, `${id}@rollup.test`, at()),
    );
  }
  for (let i = 0; i < 60; i++) {
    statements.push(
      env.DB.prepare(
        "INSERT INTO accounts (id, kind, visitor_id, status, merged_into, created_at) VALUES (?, 'anonymous', ?, 'active', ?, ?)",
      ).bind(`acc_rollup_anon_${i}`, `rollup-visitor-${i}`, random() < 0.3 ? pick(users) : null, at()),
    );
  }
  for (let i = 0; i < 400; i++) {
    const status = pick(["succeeded", "succeeded", "succeeded", "failed", "cancelled", "pending"] as const);
    const latency = status === "pending" || random() < 0.1 ? null : Math.floor(random() * 20_000);
    statements.push(
      env.DB.prepare(
        `INSERT INTO generations (id, account_id, wallet_id, idempotency_key, request_hash, site, feature, issue_type,
           prompt, model, status, held, charged, latency_ms, first_delta_ms, cost_usd, created_at)
         VALUES (?1, ?2, ?3, ?1, 'h', ?4, ?5, 'bug', 'p', ?6, 'pending', 2, 0, NULL, NULL, NULL, ?7)`,
      ).bind(
        `gen_rollup_${i}`,
        pick(users),
        random() < 0.2 ? "team_rollup0000001" : null,
        pick(["jira", "gitlab", "linear"]),
        pick(["generate", "refine", "subtasks"]),
        random() < 0.1 ? null : pick(["openai/gpt-oss-20b", "anthropic/claude-haiku"]),
        at(),
      ),
    );
    if (status !== "pending") {
      // The settle: status, charge and timings land in one later update.
      statements.push(
        env.DB.prepare(
          `UPDATE generations SET status = ?2, charged = ?3, latency_ms = ?4, first_delta_ms = ?5, cost_usd = ?6
           WHERE id = ?1`,
        ).bind(
          `gen_rollup_${i}`,
          status,
          status === "succeeded" ? 1 + Math.floor(random() * 5) : 0,
          latency,
          latency === null || random() < 0.3 ? null : Math.floor(latency / 7),
          random() < 0.5 ? Math.round(random() * 1e6) / 1e9 : null,
        ),
      );
    }
    if (status === "pending" && random() < 0.3) {
      statements.push(env.DB.prepare("DELETE FROM generations WHERE id = ?").bind(`gen_rollup_${i}`));
    }
  }
  for (let i = 0; i < 300; i++) {
    statements.push(
      env.DB.prepare(
        `INSERT INTO ledger_entries (wallet_id, seq, id, type, amount, balance_after, description, created_at)
         VALUES (?, ?, ?, ?, ?, 0, 'seeded', ?)`,
      ).bind(
        "acc_rollup_ledger",
        i + 1,
        `txn_rollup_${i}`,
        pick(["grant", "usage", "purchase", "refund", "adjustment"]),
        Math.floor(random() * 21) - 10,
        at(),
      ),
    );
  }
  for (let i = 0; i < 80; i++) {
    const demo = random() < 0.15;
    const checkout = `cs_rollup_${i}`;
    const createdAt = at();
    const amount = pick([500, 1900, 5900]);
    const account = pick(users);
    statements.push(
      env.DB.prepare(
        `INSERT INTO checkouts (id, account_id, plan_id, mode, amount, currency, tokens, demo, created_at)
         VALUES (?, ?, 'starter', 'payment', ?, ?, 10, ?, ?)`,
      ).bind(checkout, account, amount, pick(["usd", "eur"]), demo ? 1 : 0, createdAt),
      env.DB.prepare(
        `INSERT INTO purchases (id, account_id, plan_id, kind, checkout_session_id, amount, currency, tokens, created_at)
         VALUES (?, ?, 'starter', ?, ?, ?, ?, ?, ?)`,
      ).bind(
        `pur_rollup_${i}`,
        account,
        pick(["pack", "allowance"]),
        checkout,
        amount,
        pick(["usd", "eur"]),
        pick([10, 50, 200]),
        createdAt,
      ),
    );
    if (random() < 0.25) {
      statements.push(
        env.DB.prepare("UPDATE purchases SET refunded_amount = ?2, disputed_amount = ?3 WHERE id = ?1").bind(
          `pur_rollup_${i}`,
          Math.floor(random() * amount),
          random() < 0.3 ? amount : 0,
        ),
      );
    }
  }
  // Sign-ins after the fact: anonymous accounts merged into users who may already have paid.
  for (let i = 0; i < 15; i++) {
    statements.push(
      env.DB.prepare("UPDATE accounts SET merged_into = ? WHERE id = ? AND merged_into IS NULL").bind(
        pick(users),
        `acc_rollup_anon_${i}`,
      ),
    );
  }
  for (let i = 0; i < statements.length; i += 100) await env.DB.batch(statements.slice(i, i + 100));
}

describe("stats from the daily rollups", () => {
  it("give the same figures as scanning the rows, for every window", async () => {
    await seed(rng(18));
    for (const days of [1, 2, 7, 30, 90]) {
      const { usage, latency, ...rollup } = await computeStats(env.DB, days, now);
      const scan = await scanStats(env.DB, days, now);
      const { byPayer, ...usageFigures } = usage;
      expect(usageFigures, `usage, ${days} days`).toEqual(scan.usage);
      expect(rollup, `${days} days`).toEqual({
        window: scan.window,
        generations: scan.generations,
        revenue: scan.revenue,
        accounts: scan.accounts,
        funnel: scan.funnel,
      });
      expect(latency, `latency, ${days} days`).toEqual({
        ...scan.latency,
        p50Ms: floor2(scan.latency.p50Ms),
        p95Ms: floor2(scan.latency.p95Ms),
        firstDeltaP50Ms: floor2(scan.latency.firstDeltaP50Ms),
        firstDeltaP95Ms: floor2(scan.latency.firstDeltaP95Ms),
      });
      expect((byPayer.account?.generations ?? 0) + (byPayer.team?.generations ?? 0)).toBe(usage.generations);
    }
    expect((await computeStats(env.DB, 90, now)).usage.generations).toBeGreaterThan(250);
  });

  it("count team spend apart from what accounts paid themselves", async () => {
    const rows = [
      ["gen_payer_own", null, 3],
      ["gen_payer_team", "team_payer00000001", 5],
      ["gen_payer_self", "acc_payer", 2],
    ] as const;
    type Payers = {
      usage: { spent: number; byPayer: Record<string, { generations: number; spent: number }> };
    };
    const before = await adminJson<Payers>("/admin/stats?days=1");
    for (const [id, walletId, charged] of rows) {
      await env.DB.prepare(
        `INSERT INTO generations (id, account_id, wallet_id, idempotency_key, request_hash, site, feature,
           issue_type, prompt, model, status, charged, created_at)
         VALUES (?1, 'acc_payer', ?2, ?1, 'h', 'jira', 'generate', 'bug', 'p', 'm', 'succeeded', ?3, ?4)`,
      )
        .bind(id, walletId, charged, now - 1)
        .run();
    }
    const after = await adminJson<Payers>("/admin/stats?days=1");
    const added = (payer: string, k: "generations" | "spent") =>
      (after.usage.byPayer[payer]?.[k] ?? 0) - (before.usage.byPayer[payer]?.[k] ?? 0);
    // Paid from one's own wallet (no wallet_id, or one's own id) and from a team's.
    expect([added("account", "generations"), added("account", "spent")]).toEqual([2, 5]);
    expect([added("team", "generations"), added("team", "spent")]).toEqual([1, 5]);
    expect(after.usage.spent - before.usage.spent).toBe(10);
  });

  it("reads at most one row per day and key, however many generations the window holds", async () => {
    const insert = (i: number) =>
      env.DB.prepare(
        `INSERT INTO generations (id, account_id, idempotency_key, request_hash, site, feature, issue_type, prompt,
           model, status, charged, latency_ms, created_at)
         VALUES (?1, 'acc_rows', ?1, 'h', 'rows-site', 'generate', 'bug', 'p', 'm', 'succeeded', 1, 1500, ?2)`,
      ).bind(`gen_rows_${i}`, now - (i % 7) * DAY);
    const rowsRead = async () => {
      const r = await env.DB.prepare(
        "SELECT count(*) AS n FROM stats_usage_daily WHERE day BETWEEN ?1 AND ?2 AND site = 'rows-site'",
      )
        .bind(Math.floor(now / DAY) - 6, Math.floor(now / DAY))
        .first<{ n: number }>();
      return r?.n ?? 0;
    };
    await env.DB.batch(Array.from({ length: 70 }, (_, i) => insert(i)));
    const before = await rowsRead();
    await env.DB.batch(Array.from({ length: 700 }, (_, i) => insert(i + 70)));
    expect(before).toBe(7);
    expect(await rowsRead()).toBe(7);
    expect((await computeStats(env.DB, 7, now)).usage.bySite["rows-site"]?.generations).toBe(770);
  });

  it("cost a generation's insert and settle at most 6 D1 rows more than the rows themselves", async () => {
    const insert = await env.DB.prepare(
      `INSERT INTO generations (id, account_id, idempotency_key, request_hash, site, feature, issue_type, prompt,
         status, created_at)
       VALUES ('gen_cost', 'acc_cost', 'gen_cost', 'h', 'jira', 'generate', 'bug', 'p', 'pending', ?1)`,
    )
      .bind(now)
      .run();
    const settle = await env.DB.prepare(
      `UPDATE generations SET status = 'succeeded', charged = 2, latency_ms = 1234, first_delta_ms = 300,
         cost_usd = 0.0001, model = 'm' WHERE id = 'gen_cost'`,
    ).run();
    // Without the rollups: 6 (the row and its five indexes) and 1 (the row).
    const written = (insert.meta.rows_written ?? 0) + (settle.meta.rows_written ?? 0);
    expect(written).toBeGreaterThanOrEqual(7);
    expect(written).toBeLessThanOrEqual(7 + 6);
  });
});
