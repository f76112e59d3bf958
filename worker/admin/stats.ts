const DAY_MS = 86_400_000;

/** Purchases paid with real money: local demo checkouts are left out of revenue and the funnel. */
const REAL_MONEY = "NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = p.checkout_session_id AND c.demo = 1)";

interface Breakdown {
  generations: number;
  spent: number;
}

type Window = readonly [since: number, until: number];

/**
 * Business figures over the last `days` UTC days (today included), straight
 * from D1: generations (what was asked, what failed, how long the model took),
 * the ledger (what moved), purchases (revenue) and accounts (the
 * anonymous → user → paying funnel).
 */
export async function computeStats(d1: D1Database, days: number, now = Date.now()) {
  const until = now;
  const since = startOfUtcDay(now) - (days - 1) * DAY_MS;
  const window: Window = [since, until];
  const q = (sql: string) => d1.prepare(sql).bind(...window);

  const [
    genDays,
    byFeature,
    byModel,
    bySite,
    statusRows,
    latencyRows,
    ledgerRows,
    accountRows,
    funnelRows,
    revenueRows,
    revenueDays,
    demoRows,
  ] = await d1.batch([
    q(
      `SELECT date(created_at / 1000, 'unixepoch') AS date, count(*) AS generations,
         coalesce(sum(charged), 0) AS spent,
         coalesce(sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS failed
       FROM generations WHERE created_at BETWEEN ?1 AND ?2 GROUP BY 1`,
    ),
    q(grouped("feature")),
    q(grouped("coalesce(model, 'unknown')")),
    q(grouped("site")),
    q("SELECT status, count(*) AS n FROM generations WHERE created_at BETWEEN ?1 AND ?2 GROUP BY status"),
    q(
      `SELECT count(latency_ms) AS n, avg(latency_ms) AS avg, max(latency_ms) AS max,
         count(first_delta_ms) AS first_n, sum(cost_usd) AS cost_usd
       FROM generations WHERE created_at BETWEEN ?1 AND ?2`,
    ),
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
  for (const r of rows<{ status: keyof typeof status; n: number }>(statusRows)) status[r.status] = r.n;
  const total = status.pending + status.succeeded + status.failed + status.cancelled;
  const finished = total - status.pending;

  const genPerDay = new Map(
    rows<{ date: string; generations: number; spent: number; failed: number }>(genDays).map((r) => [
      r.date,
      r,
    ]),
  );
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

  const lat = rows<{
    n: number;
    avg: number | null;
    max: number | null;
    first_n: number;
    cost_usd: number | null;
  }>(latencyRows)[0];
  const latencyCount = lat?.n ?? 0;
  const [p50, p95, firstP50, firstP95] = await Promise.all([
    percentile(d1, "latency_ms", 0.5, latencyCount, window),
    percentile(d1, "latency_ms", 0.95, latencyCount, window),
    percentile(d1, "first_delta_ms", 0.5, lat?.first_n ?? 0, window),
    percentile(d1, "first_delta_ms", 0.95, lat?.first_n ?? 0, window),
  ]);

  const acc = rows<{ anonymous: number; users: number; first_purchases: number }>(accountRows)[0];
  const funnel = rows<{ anonymous: number; signed_up: number; paying: number }>(funnelRows)[0];

  return {
    window: { days, since: new Date(since).toISOString(), until: new Date(until).toISOString() },
    usage: {
      generations: total,
      spent: usageByDay.reduce((s, d) => s + d.spent, 0),
      byDay: usageByDay,
      byFeature: toRecord(byFeature),
      byModel: toRecord(byModel),
      bySite: toRecord(bySite),
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
      count: latencyCount,
      avgMs: lat?.avg == null ? null : Math.round(lat.avg),
      p50Ms: p50,
      p95Ms: p95,
      maxMs: lat?.max ?? null,
      /** Time to the first streamed text. */
      firstDeltaP50Ms: firstP50,
      firstDeltaP95Ms: firstP95,
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

function grouped(key: string): string {
  return `SELECT ${key} AS k, count(*) AS generations, coalesce(sum(charged), 0) AS spent
    FROM generations WHERE created_at BETWEEN ?1 AND ?2 GROUP BY 1`;
}

/** Nearest-rank percentile of a timing column over the window, read with one OFFSET. */
async function percentile(
  d1: D1Database,
  column: "latency_ms" | "first_delta_ms",
  p: number,
  n: number,
  window: Window,
): Promise<number | null> {
  if (n === 0) return null;
  const row = await d1
    .prepare(
      `SELECT ${column} AS v FROM generations
       WHERE created_at BETWEEN ?1 AND ?2 AND ${column} IS NOT NULL
       ORDER BY ${column} LIMIT 1 OFFSET ?3`,
    )
    .bind(...window, Math.max(Math.ceil(p * n) - 1, 0))
    .first<{ v: number }>();
  return row?.v ?? null;
}

function rows<T>(result: D1Result<unknown> | undefined): T[] {
  return (result?.results ?? []) as T[];
}

function toRecord(result: D1Result<unknown> | undefined): Record<string, Breakdown> {
  const out: Record<string, Breakdown> = {};
  for (const r of rows<{ k: string } & Breakdown>(result)) {
    out[r.k] = { generations: r.generations, spent: r.spent };
  }
  return out;
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
