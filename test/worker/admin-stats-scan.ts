// The stats scan that preceded the daily rollups (docs/decisions/016-scale.md).
const DAY_MS = 86_400_000;

/** Purchases paid with real money: local demo checkouts are left out of revenue and the funnel. */
const REAL_MONEY = "NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = p.checkout_session_id AND c.demo = 1)";

interface Breakdown {
  generations: number;
  spent: number;
}

type Window = readonly [since: number, until: number];

/**
 * The reference the rollups are held to: `GET /admin/stats` as it was before
 * them, every figure computed by scanning the window's rows. Kept verbatim
 * (only renamed) so a test can compare the two answers on the same data.
 */
export async function scanStats(d1: D1Database, days: number, now = Date.now()) {
  const until = now;
  const since = startOfUtcDay(now) - (days - 1) * DAY_MS;
  const window: Window = [since, until];
  const q = (sql: string) => d1.prepare(sql).bind(...window);

  const [
    genRows,
    latencyRows,
    latencyRanks,
    firstDeltaRanks,
    ledgerRows,
    accountRows,
    funnelRows,
    revenueRows,
    revenueDays,
    demoRows,
  ] = await d1.batch([
    // One pass over the window's generations, every breakdown summed up below.
    q(
      `SELECT date(created_at / 1000, 'unixepoch') AS date, feature, coalesce(model, 'unknown') AS model,
         site, status, count(*) AS n, coalesce(sum(charged), 0) AS spent
       FROM generation_meta WHERE created_at BETWEEN ?1 AND ?2 GROUP BY 1, 2, 3, 4, 5`,
    ),
    q(
      `SELECT count(latency_ms) AS n, avg(latency_ms) AS avg, max(latency_ms) AS max, sum(cost_usd) AS cost_usd
       FROM generation_meta WHERE created_at BETWEEN ?1 AND ?2`,
    ),
    q(percentiles("latency_ms")),
    q(percentiles("first_delta_ms")),
    q(
      `SELECT type, coalesce(sum(amount), 0) AS amount FROM ledger_entries
       WHERE created_at BETWEEN ?1 AND ?2 GROUP BY type`,
    ),
    q(
      `SELECT
         (SELECT count(*) FROM accounts WHERE kind = 'anonymous' AND created_at BETWEEN ?1 AND ?2) AS anonymous,
         (SELECT count(*) FROM accounts WHERE kind = 'user' AND created_at BETWEEN ?1 AND ?2) AS users,
         (SELECT count(*) FROM (
            SELECT min(p.created_at) AS first FROM purchases p WHERE ${REAL_MONEY} GROUP BY p.account_id
          ) WHERE first BETWEEN ?1 AND ?2) AS first_purchases`,
    ),
    // A cohort: the anonymous accounts made in the window, how many of them
    // signed in (their tokens moved to a user), and how many of those users paid.
    q(
      `SELECT count(*) AS anonymous, count(a.merged_into) AS signed_up,
         coalesce(sum(CASE WHEN EXISTS (
           SELECT 1 FROM purchases p WHERE p.account_id = a.merged_into AND ${REAL_MONEY}
         ) THEN 1 ELSE 0 END), 0) AS paying
       FROM accounts a WHERE a.kind = 'anonymous' AND a.created_at BETWEEN ?1 AND ?2`,
    ),
    // Revenue of the purchases made in the window; the refunds and disputes
    // counted are those of these purchases, whenever they came.
    q(
      `SELECT p.currency, count(*) AS purchases,
         coalesce(sum(CASE WHEN p.kind = 'pack' THEN 1 ELSE 0 END), 0) AS packs,
         coalesce(sum(CASE WHEN p.kind = 'allowance' THEN 1 ELSE 0 END), 0) AS allowances,
         coalesce(sum(p.tokens), 0) AS tokens, coalesce(sum(p.amount), 0) AS gross,
         coalesce(sum(p.refunded_amount), 0) AS refunded, coalesce(sum(p.disputed_amount), 0) AS disputed,
         -- A purchase cannot lose more than it brought in, whether by refund, dispute or both.
         coalesce(sum(max(0, p.amount - p.refunded_amount - p.disputed_amount)), 0) AS net
       FROM purchases p WHERE ${REAL_MONEY} AND p.created_at BETWEEN ?1 AND ?2 GROUP BY p.currency`,
    ),
    q(
      `SELECT date(p.created_at / 1000, 'unixepoch') AS date, p.currency, count(*) AS purchases,
         coalesce(sum(p.amount), 0) AS gross
       FROM purchases p WHERE ${REAL_MONEY} AND p.created_at BETWEEN ?1 AND ?2 GROUP BY 1, 2`,
    ),
    // Local demo billing, so a dev setup can see its purchases without calling them money.
    q(
      `SELECT count(*) AS purchases FROM purchases p
       WHERE NOT (${REAL_MONEY}) AND p.created_at BETWEEN ?1 AND ?2`,
    ),
  ]);

  const status = { pending: 0, succeeded: 0, failed: 0, cancelled: 0 };
  const genPerDay = new Map<string, { generations: number; spent: number; failed: number }>();
  const byFeature: Record<string, Breakdown> = {};
  const byModel: Record<string, Breakdown> = {};
  const bySite: Record<string, Breakdown> = {};
  for (const r of rows<{
    date: string;
    feature: string;
    model: string;
    site: string;
    status: keyof typeof status;
    n: number;
    spent: number;
  }>(genRows)) {
    status[r.status] += r.n;
    const day = genPerDay.get(r.date) ?? { generations: 0, spent: 0, failed: 0 };
    day.generations += r.n;
    day.spent += r.spent;
    if (r.status === "failed") day.failed += r.n;
    genPerDay.set(r.date, day);
    add(byFeature, r.feature, r);
    add(byModel, r.model, r);
    add(bySite, r.site, r);
  }
  const total = status.pending + status.succeeded + status.failed + status.cancelled;
  const finished = total - status.pending;

  const revPerDay = new Map<string, { purchases: number; gross: Record<string, number> }>();
  for (const r of rows<{ date: string; currency: string; purchases: number; gross: number }>(revenueDays)) {
    const day = revPerDay.get(r.date) ?? { purchases: 0, gross: {} };
    day.purchases += r.purchases;
    day.gross[r.currency] = r.gross;
    revPerDay.set(r.date, day);
  }
  const usageByDay = [];
  const revenueByDay = [];
  for (let t = since; t <= until; t += DAY_MS) {
    const date = new Date(t).toISOString().slice(0, 10);
    const g = genPerDay.get(date);
    usageByDay.push({ date, generations: g?.generations ?? 0, spent: g?.spent ?? 0, failed: g?.failed ?? 0 });
    revenueByDay.push({ date, ...(revPerDay.get(date) ?? { purchases: 0, gross: {} }) });
  }

  const ledger: Record<string, number> = {};
  for (const r of rows<{ type: string; amount: number }>(ledgerRows)) ledger[r.type] = r.amount;

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
    byDay: revenueByDay,
    /** Demo checkouts (local only): not in any figure above. */
    demoPurchases: rows<{ purchases: number }>(demoRows)[0]?.purchases ?? 0,
  };
  for (const r of rows<{
    currency: string;
    purchases: number;
    packs: number;
    allowances: number;
    tokens: number;
    gross: number;
    refunded: number;
    disputed: number;
    net: number;
  }>(revenueRows)) {
    revenue.purchases += r.purchases;
    revenue.packs += r.packs;
    revenue.allowances += r.allowances;
    revenue.tokens += r.tokens;
    revenue.gross[r.currency] = r.gross;
    revenue.refunded[r.currency] = r.refunded;
    revenue.disputed[r.currency] = r.disputed;
    revenue.net[r.currency] = r.net;
  }

  const lat = rows<{ n: number; avg: number | null; max: number | null; cost_usd: number | null }>(
    latencyRows,
  )[0];
  const latency = ranked(latencyRanks);
  const firstDelta = ranked(firstDeltaRanks);

  const acc = rows<{ anonymous: number; users: number; first_purchases: number }>(accountRows)[0];
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
      /** Net ledger movement per entry type (usage and other debits are negative). */
      ledger,
      /** What the model provider billed us, where it reported it. */
      upstreamCostUsd: Math.round((lat?.cost_usd ?? 0) * 1e6) / 1e6,
    },
    generations: {
      total,
      ...status,
      /** Failed among finished generations (pending ones have no outcome yet). */
      failedRate: finished === 0 ? 0 : round(status.failed / finished),
    },
    latency: {
      count: lat?.n ?? 0,
      avgMs: lat?.avg == null ? null : Math.round(lat.avg),
      p50Ms: latency.p50,
      p95Ms: latency.p95,
      maxMs: lat?.max ?? null,
      /** Time to the first streamed text. */
      firstDeltaP50Ms: firstDelta.p50,
      firstDeltaP95Ms: firstDelta.p95,
    },
    revenue,
    accounts: {
      anonymous: acc?.anonymous ?? 0,
      signUps: acc?.users ?? 0,
      firstPurchases: acc?.first_purchases ?? 0,
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
 * The window's nearest-rank p50 and p95 of a timing column in one sort:
 * rank ⌈p·n⌉, written (p%·n + 99) / 100 in integer arithmetic.
 */
function percentiles(column: "latency_ms" | "first_delta_ms"): string {
  return `WITH v AS (
      SELECT ${column} AS v, row_number() OVER (ORDER BY ${column}) AS rn, count(*) OVER () AS n
      FROM generation_meta WHERE created_at BETWEEN ?1 AND ?2 AND ${column} IS NOT NULL)
    SELECT v, rn, n FROM v WHERE rn IN ((50 * n + 99) / 100, (95 * n + 99) / 100)`;
}

function ranked(result: D1Result<unknown> | undefined): { p50: number | null; p95: number | null } {
  const found = rows<{ v: number; rn: number; n: number }>(result);
  const n = found[0]?.n ?? 0;
  const at = (pct: number) => found.find((r) => r.rn === Math.floor((pct * n + 99) / 100))?.v ?? null;
  return { p50: at(50), p95: at(95) };
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
