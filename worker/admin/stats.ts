const DAY_MS = 86_400_000;

interface Breakdown {
  generations: number;
  spent: number;
}

/**
 * Business figures over the last `days` UTC days (today included), read from
 * the daily rollups (worker/db/schema/stats.ts) that D1's triggers keep as
 * generations, ledger entries, accounts and purchases are written: at most one
 * row per day and key, however many generations the window holds
 * (docs/decisions/016-scale.md). Generations (what was asked, what failed, how
 * long the model took), the ledger (what moved), purchases (revenue) and
 * accounts (the anonymous → user → paying funnel).
 */
export async function computeStats(d1: D1Database, days: number, now = Date.now()) {
  const until = now;
  const since = startOfUtcDay(now) - (days - 1) * DAY_MS;
  const window = [since / DAY_MS, Math.floor(until / DAY_MS)] as const;
  const q = (sql: string) => d1.prepare(sql).bind(...window);

  const [genRows, ledgerRows, accountRows, funnelRows, revenueRows] = await d1.batch([
    // One row per day and key carries a generation's every figure (docs/decisions/019-d1-rows.md).
    q(
      `SELECT day, feature, model, site, status, payer, generations AS n, spent, latency_count, latency_sum,
         latency_max, cost_usd, latency_hist, first_delta_hist, ledger
       FROM stats_usage_daily WHERE day BETWEEN ?1 AND ?2`,
    ),
    // Usage entries written with their generation are counted in its row (its `ledger` column).
    q(
      `SELECT type, sum(amount) AS amount FROM stats_ledger_daily WHERE day BETWEEN ?1 AND ?2
       GROUP BY type HAVING count(*) > 0`,
    ),
    q(`SELECT event, sum(n) AS n FROM stats_accounts_daily WHERE day BETWEEN ?1 AND ?2 GROUP BY event`),
    q(
      `SELECT coalesce(sum(anonymous), 0) AS anonymous, coalesce(sum(signed_up), 0) AS signed_up,
         coalesce(sum(paying), 0) AS paying
       FROM stats_funnel_daily WHERE day BETWEEN ?1 AND ?2`,
    ),
    q(
      `SELECT day, currency, demo, purchases, packs, allowances, tokens, gross, refunded, disputed, net
       FROM stats_revenue_daily WHERE day BETWEEN ?1 AND ?2 AND purchases <> 0`,
    ),
  ]);

  const status = { pending: 0, succeeded: 0, failed: 0, cancelled: 0 };
  const genPerDay = new Map<number, { generations: number; spent: number; failed: number }>();
  const byFeature: Record<string, Breakdown> = {};
  const byModel: Record<string, Breakdown> = {};
  const bySite: Record<string, Breakdown> = {};
  const byPayer: Record<string, Breakdown> = {};
  const totals = { latencyCount: 0, latencySum: 0, latencyMax: null as number | null, costUsd: 0, ledger: 0 };
  const histograms = { latency: new Map<number, number>(), first_delta: new Map<number, number>() };
  let ledgerRowsWithUsage = 0;
  for (const r of rows<UsageRow>(genRows)) {
    totals.latencyCount += r.latency_count;
    totals.latencySum += r.latency_sum;
    if (r.latency_max !== null)
      totals.latencyMax = Math.max(totals.latencyMax ?? r.latency_max, r.latency_max);
    totals.costUsd += r.cost_usd;
    addHistogram(histograms.latency, r.latency_hist);
    addHistogram(histograms.first_delta, r.first_delta_hist);
    if (r.ledger !== 0) {
      totals.ledger += r.ledger;
      ledgerRowsWithUsage++;
    }
    if (r.n === 0) continue;
    status[r.status] += r.n;
    const day = genPerDay.get(r.day) ?? { generations: 0, spent: 0, failed: 0 };
    day.generations += r.n;
    day.spent += r.spent;
    if (r.status === "failed") day.failed += r.n;
    genPerDay.set(r.day, day);
    add(byFeature, r.feature, r);
    add(byModel, r.model, r);
    add(bySite, r.site, r);
    add(byPayer, r.payer, r);
  }
  const total = status.pending + status.succeeded + status.failed + status.cancelled;
  const finished = total - status.pending;

  const revenue = {
    purchases: 0,
    packs: 0,
    allowances: 0,
    /** Tokens sold. */
    tokens: 0,
    /** Per currency, in its minor unit. */
    gross: {} as Record<string, number>,
    refunded: {} as Record<string, number>,
    disputed: {} as Record<string, number>,
    net: {} as Record<string, number>,
    byDay: [] as { date: string; purchases: number; gross: Record<string, number> }[],
    /** Demo checkouts (local only): not in any figure above. */
    demoPurchases: 0,
  };
  const revPerDay = new Map<number, { purchases: number; gross: Record<string, number> }>();
  for (const r of rows<{
    day: number;
    currency: string;
    demo: number;
    purchases: number;
    packs: number;
    allowances: number;
    tokens: number;
    gross: number;
    refunded: number;
    disputed: number;
    net: number;
  }>(revenueRows)) {
    if (r.demo) {
      revenue.demoPurchases += r.purchases;
      continue;
    }
    revenue.purchases += r.purchases;
    revenue.packs += r.packs;
    revenue.allowances += r.allowances;
    revenue.tokens += r.tokens;
    for (const k of ["gross", "refunded", "disputed", "net"] as const) {
      revenue[k][r.currency] = (revenue[k][r.currency] ?? 0) + r[k];
    }
    const day = revPerDay.get(r.day) ?? { purchases: 0, gross: {} };
    day.purchases += r.purchases;
    day.gross[r.currency] = (day.gross[r.currency] ?? 0) + r.gross;
    revPerDay.set(r.day, day);
  }

  const usageByDay = [];
  for (let t = since; t <= until; t += DAY_MS) {
    const date = new Date(t).toISOString().slice(0, 10);
    const g = genPerDay.get(t / DAY_MS);
    usageByDay.push({ date, generations: g?.generations ?? 0, spent: g?.spent ?? 0, failed: g?.failed ?? 0 });
    revenue.byDay.push({ date, ...(revPerDay.get(t / DAY_MS) ?? { purchases: 0, gross: {} }) });
  }

  const ledger: Record<string, number> = {};
  for (const r of rows<{ type: string; amount: number }>(ledgerRows)) ledger[r.type] = r.amount;
  if (ledgerRowsWithUsage > 0) ledger.usage = (ledger.usage ?? 0) + totals.ledger;

  const lat = {
    n: totals.latencyCount,
    sum: totals.latencySum,
    max: totals.latencyMax,
    cost_usd: totals.costUsd,
  };
  const latency = percentilesOf(sorted(histograms.latency));
  const firstDelta = percentilesOf(sorted(histograms.first_delta));

  const acc: Record<string, number> = {};
  for (const r of rows<{ event: string; n: number }>(accountRows)) acc[r.event] = r.n;
  const funnel = rows<{ anonymous: number; signed_up: number; paying: number }>(funnelRows)[0];

  return {
    window: { days, since: new Date(since).toISOString(), until: new Date(until).toISOString() },
    usage: {
      generations: total,
      spent: usageByDay.reduce((s, d) => s + d.spent, 0),
      byDay: usageByDay,
      byFeature,
      byModel,
      bySite,
      /** Who paid: the caller's own wallet ('account') or a team's ('team'). */
      byPayer,
      /** Net ledger movement per entry type (usage and other debits are negative). */
      ledger,
      /** What the model provider billed us, where it reported it. */
      upstreamCostUsd: Math.round(lat.cost_usd * 1e6) / 1e6,
    },
    generations: {
      total,
      ...status,
      /** Failed among finished generations (pending ones have no outcome yet). */
      failedRate: finished === 0 ? 0 : round(status.failed / finished),
    },
    latency: {
      count: lat.n,
      avgMs: lat.n === 0 ? null : Math.round(lat.sum / lat.n),
      /** Percentiles are floored to two significant digits (the rollup's histogram). */
      p50Ms: latency.p50,
      p95Ms: latency.p95,
      maxMs: lat.n ? lat.max : null,
      /** Time to the first streamed text. */
      firstDeltaP50Ms: firstDelta.p50,
      firstDeltaP95Ms: firstDelta.p95,
    },
    revenue,
    accounts: {
      anonymous: acc.anonymous ?? 0,
      signUps: acc.user ?? 0,
      firstPurchases: acc.first_purchase ?? 0,
    },
    funnel: {
      anonymous: funnel?.anonymous ?? 0,
      signedUp: funnel?.signed_up ?? 0,
      paying: funnel?.paying ?? 0,
      signUpRate: rate(funnel?.signed_up, funnel?.anonymous),
      payingRate: rate(funnel?.paying, funnel?.signed_up),
    },
  };
}

/**
 * Nearest-rank p50 and p95 (rank ⌈p·n⌉) from a histogram sorted by bucket:
 * the bucket holding that rank, i.e. the exact value floored like the buckets.
 */
function percentilesOf(histogram: { bucket: number; n: number }[]) {
  const n = histogram.reduce((s, h) => s + h.n, 0);
  const at = (pct: number) => {
    if (n === 0) return null;
    const rank = Math.floor((pct * n + 99) / 100);
    let seen = 0;
    for (const h of histogram) {
      seen += h.n;
      if (seen >= rank) return h.bucket;
    }
    return null;
  };
  return { p50: at(50), p95: at(95) };
}

interface UsageRow {
  day: number;
  feature: string;
  model: string;
  site: string;
  status: "pending" | "succeeded" | "failed" | "cancelled";
  payer: string;
  n: number;
  spent: number;
  latency_count: number;
  latency_sum: number;
  latency_max: number | null;
  cost_usd: number;
  /** JSON: bucket → count (worker/db/schema/stats.ts). */
  latency_hist: string | null;
  first_delta_hist: string | null;
  ledger: number;
}

function addHistogram(into: Map<number, number>, json: string | null) {
  if (json === null) return;
  for (const [bucket, n] of Object.entries(JSON.parse(json) as Record<string, number>)) {
    into.set(Number(bucket), (into.get(Number(bucket)) ?? 0) + n);
  }
}

/** The buckets holding a count, in order (what the percentiles walk). */
function sorted(histogram: Map<number, number>) {
  return [...histogram]
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a - b)
    .map(([bucket, n]) => ({ bucket, n }));
}

function add(into: Record<string, Breakdown>, key: string, r: { n: number; spent: number }) {
  const b = into[key] ?? { generations: 0, spent: 0 };
  b.generations += r.n;
  b.spent += r.spent;
  into[key] = b;
}

function rows<T>(result: D1Result<unknown> | undefined): T[] {
  return (result?.results ?? []) as T[];
}

function startOfUtcDay(t: number): number {
  return t - (t % DAY_MS);
}

function rate(part = 0, whole = 0): number {
  return whole === 0 ? 0 : round(part / whole);
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
