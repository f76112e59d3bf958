import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import migration from "../../drizzle/0013_d1_rows.sql?raw";

const DAY = 86_400_000;

/** The usage rollup as comparable values (histograms parsed, cost rounded). */
async function rollup() {
  const { results } = await env.DB.prepare(
    "SELECT * FROM stats_usage_daily ORDER BY day, feature, model, site, status, payer",
  ).all<Record<string, unknown>>();
  return results.map((r) => ({
    ...r,
    latency_hist: typeof r.latency_hist === "string" ? JSON.parse(r.latency_hist) : null,
    first_delta_hist: typeof r.first_delta_hist === "string" ? JSON.parse(r.first_delta_hist) : null,
    cost_usd: Math.round(Number(r.cost_usd) * 1e9),
  }));
}

describe("migration d1_rows", () => {
  it("fills the one-row-per-key usage rollup from existing rows exactly as its triggers keep it", async () => {
    const now = Date.now();
    const inserts = Array.from({ length: 300 }, (_, i) =>
      env.DB.prepare(
        `INSERT INTO generations (id, account_id, wallet_id, idempotency_key, request_hash, site, feature, issue_type,
           prompt, model, status, held, charged, latency_ms, first_delta_ms, cost_usd, created_at)
         VALUES (?1, ?2, ?3, ?1, 'h', ?4, 'generate', 'bug', 'p', ?5, ?6, 2, ?7, ?8, ?9, ?10, ?11)`,
      ).bind(
        `gen_migration_${i}`,
        `acc_migration_${i % 3}`,
        i % 4 === 0 ? "team_migration00001" : null,
        ["jira", "gitlab"][i % 2],
        i % 9 === 0 ? null : "m",
        ["succeeded", "failed", "pending"][i % 3],
        i % 3,
        i % 7 === 0 ? null : (i * 7919) % 150_000,
        i % 5 === 0 ? null : (i * 104_729) % 3_000,
        i % 2 ? 0.001 * i : null,
        now - (i % 5) * DAY,
      ),
    );
    await env.DB.batch(inserts);
    const byTriggers = await rollup();

    // The migration's own backfill statement, run again over the same rows.
    const start = migration.indexOf("INSERT INTO stats_usage_daily");
    const backfill = migration
      .slice(start, migration.indexOf("CREATE TRIGGER", start))
      .trim()
      .replace(/;$/, "");
    await env.DB.prepare("DELETE FROM stats_usage_daily").run();
    await env.DB.prepare(backfill).run();

    const byBackfill = await rollup();
    expect(byBackfill.length).toBeGreaterThan(20);
    expect(byBackfill).toEqual(byTriggers);
  });
});
