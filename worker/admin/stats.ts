const DAY_MS = 86_400_000;

interface Breakdown {
  generations: number;
  spent: number;
}

/**
 * Business figures over the last `days` UTC days (today included), straight
 * from D1: generations (what was asked, what failed, how long the model took),
 * the ledger (what moved), accounts (the anonymous → user → paying funnel).
 */
export async function computeStats(d1: D1Database, days: number, now = Date.now()) {
  const until = now;
  const since = startOfUtcDay(now) - (days - 1) * DAY_MS;
  const window = [since, until] as const;

  const [
    byDayRows,
    byFeature,
    byModel,
    bySite,
    statusRows,
    latencyRows,
    ledgerRows,
    accountRows,
    funnelRows,
  ] = await d1.batch([
    d1
      .prepare(
        `SELECT date(created_at / 1000, 'unixepoch') AS date, count(*) AS generations,
             coalesce(sum(charged), 0) AS spent,
             coalesce(sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS failed
           FROM generations WHERE created_at >= ? AND created_at <= ? GROUP BY 1`,
      )
      .bind(...window),
    grouped(d1, "feature", window),
    grouped(d1, "coalesce(model, 'unknown')", window),
    grouped(d1, "site", window),
    d1
      .prepare(
        "SELECT status, count(*) AS n FROM generations WHERE created_at >= ? AND created_at <= ? GROUP BY status",
      )
      .bind(...window),
    d1
      .prepare(
        `SELECT count(*) AS n, avg(latency_ms) AS avg, max(latency_ms) AS max FROM generations
           WHERE created_at >= ? AND created_at <= ? AND latency_ms IS NOT NULL`,
      )
      .bind(...window),
    d1
      .prepare(
        `SELECT type, coalesce(sum(amount), 0) AS amount, count(*) AS entries FROM ledger_entries
           WHERE created_at >= ? AND created_at <= ? GROUP BY type`,
      )
      .bind(...window),
    d1
      .prepare(
        `SELECT
             (SELECT count(*) FROM accounts WHERE kind = 'anonymous' AND created_at BETWEEN ?1 AND ?2) AS anonymous,
             (SELECT count(*) FROM accounts WHERE kind = 'user' AND created_at BETWEEN ?1 AND ?2) AS users,
             (SELECT count(*) FROM accounts WHERE first_paid_at BETWEEN ?1 AND ?2) AS first_purchases`,
      )
      .bind(...window),
    // A cohort: the anonymous accounts made in the window, how many of them
    // signed in (their tokens moved to a user), and how many of those users pay.
    d1
      .prepare(
        `SELECT count(*) AS anonymous, count(a.merged_into) AS signed_up,
             count(u.first_paid_at) AS paying
           FROM accounts a LEFT JOIN accounts u ON u.id = a.merged_into
           WHERE a.kind = 'anonymous' AND a.created_at BETWEEN ? AND ?`,
      )
      .bind(...window),
  ]);

  const status = { pending: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const r of rows<{ status: keyof typeof status; n: number }>(statusRows)) status[r.status] = r.n;
  const total = status.pending + status.succeeded + status.failed + status.cancelled;
  const finished = total - status.pending;

  const perDay = new Map(
    rows<{ date: string; generations: number; spent: number; failed: number }>(byDayRows).map((r) => [
      r.date,
      r,
    ]),
  );
  const byDay = [];
  for (let t = since; t <= until; t += DAY_MS) {
    const date = new Date(t).toISOString().slice(0, 10);
    const r = perDay.get(date);
    byDay.push({ date, generations: r?.generations ?? 0, spent: r?.spent ?? 0, failed: r?.failed ?? 0 });
  }

  const ledger: Record<string, number> = {};
  for (const r of rows<{ type: string; amount: number }>(ledgerRows)) ledger[r.type] = r.amount;

  const lat = rows<{ n: number; avg: number | null; max: number | null }>(latencyRows)[0];
  const latencyCount = lat?.n ?? 0;
  const [p50, p95] = await Promise.all([
    percentile(d1, 0.5, latencyCount, window),
    percentile(d1, 0.95, latencyCount, window),
  ]);

  const acc = rows<{ anonymous: number; users: number; first_purchases: number }>(accountRows)[0];
  const funnel = rows<{ anonymous: number; signed_up: number; paying: number }>(funnelRows)[0];
  const spent = byDay.reduce((s, d) => s + d.spent, 0);

  return {
    window: { days, since: new Date(since).toISOString(), until: new Date(until).toISOString() },
    usage: {
      generations: total,
      spent,
      byDay,
      byFeature: toRecord(byFeature),
      byModel: toRecord(byModel),
      bySite: toRecord(bySite),
      /** Net ledger movement per entry type (usage and other debits are negative). */
      ledger,
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
    },
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

function grouped(d1: D1Database, key: string, window: readonly [number, number]) {
  return d1
    .prepare(
      `SELECT ${key} AS k, count(*) AS generations, coalesce(sum(charged), 0) AS spent
       FROM generations WHERE created_at >= ? AND created_at <= ? GROUP BY 1`,
    )
    .bind(...window);
}

/** Nearest-rank percentile of the window's upstream latencies, read with one OFFSET. */
async function percentile(
  d1: D1Database,
  p: number,
  n: number,
  window: readonly [number, number],
): Promise<number | null> {
  if (n === 0) return null;
  const offset = Math.max(Math.ceil(p * n) - 1, 0);
  const row = await d1
    .prepare(
      `SELECT latency_ms AS v FROM generations
       WHERE created_at >= ? AND created_at <= ? AND latency_ms IS NOT NULL
       ORDER BY latency_ms LIMIT 1 OFFSET ?`,
    )
    .bind(...window, offset)
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
