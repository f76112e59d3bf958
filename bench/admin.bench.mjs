// Admin reads at scale: how long reconcile, stats and account search take
// against `wrangler dev` with a realistic amount of data.
//
// Starts its own Worker (temp --persist-to, dev routes on, an admin token),
// seeds ACCOUNTS accounts and GENERATIONS generations spread over 60 days
// straight into local D1, gives WALLETS of the accounts a wallet (a grant and
// a few charges each, through the dev routes), then times:
//   GET /admin/reconcile          every wallet checked against D1
//   GET /admin/stats?days=30|7    the dashboard's figures
//   GET /admin/accounts?query=    a search by part of an email
//   GET /admin/accounts/:id       one account's detail
// Each figure is the median of RUNS calls, plus ms per wallet for reconcile.
// Reconcile must answer ok (the seeded ledger is consistent).
import { offlineEnv, run } from "../scripts/lib.mjs";
import { startLocalWorker } from "../scripts/local-worker.mjs";

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 20_000);
const GENERATIONS = Number(process.env.BENCH_GENERATIONS ?? 50_000);
const WALLETS = Number(process.env.BENCH_WALLETS ?? 200);
const RUNS = 5;
const TOKEN = "bench-admin-token";
const DAY = 86_400_000;

const _sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const id = (i) => `acc_bench${String(i).padStart(8, "0")}`;

/** Accounts and generations in two statements: a recursive CTE makes the rows inside SQLite. */
function seedSql(now) {
  return `
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${ACCOUNTS - 1})
INSERT INTO accounts (id, kind, email, visitor_id, status, created_at)
SELECT 'acc_bench' || printf('%08d', i),
       CASE WHEN i % 3 = 0 THEN 'user' ELSE 'anonymous' END,
       CASE WHEN i % 3 = 0 THEN 'user' || i || '@bench.example' END,
       CASE WHEN i % 3 != 0 THEN 'visitor-' || i END,
       'active', ${now} - (i % 60) * ${DAY}
FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${GENERATIONS - 1})
INSERT INTO generations (id, account_id, idempotency_key, request_hash, site, feature, issue_type, prompt,
  model, status, held, charged, latency_ms, first_delta_ms, created_at)
SELECT 'gen_bench' || printf('%08d', i), 'acc_bench' || printf('%08d', i % ${ACCOUNTS}), 'k' || i, 'h',
       CASE i % 3 WHEN 0 THEN 'jira' WHEN 1 THEN 'gitlab' ELSE 'linear' END,
       CASE i % 5 WHEN 0 THEN 'subtasks' WHEN 1 THEN 'refine' ELSE 'generate' END,
       'bug', 'Login fails', 'openai/gpt-oss-20b',
       CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'succeeded' END,
       1, CASE WHEN i % 20 = 0 THEN 0 ELSE 1 END, 200 + (i * 37) % 3000, 100 + (i * 13) % 900,
       ${now} - (i % 60) * ${DAY} - (i % 1000) * 1000
FROM n;`;
}

async function call(url, path, { body, admin = false } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (admin) headers.Authorization = `Bearer ${TOKEN}`;
  const res = await fetch(`${url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Median wall time of RUNS admin GETs, and the last answer. */
async function timed(url, path) {
  const times = [];
  let last;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    last = await call(url, path, { admin: true });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], last };
}

const seedStarted = performance.now();
const { url, stop } = await startLocalWorker({
  bundled: true,
  vars: { AUTH_DEV_LOGIN: "true", ADMIN_TOKEN: TOKEN },
  seed: async (persist) => {
    await run(
      "wrangler",
      ["d1", "execute", "DB", "--local", "--persist-to", persist, "--command", seedSql(Date.now())],
      {
        stdio: "ignore",
        env: { ...offlineEnv, CI: "true" },
      },
    );
    console.log(
      `seeded ${ACCOUNTS} accounts and ${GENERATIONS} generations in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
    );
  },
});
try {
  const seedStarted = performance.now();
  for (let i = 0; i < WALLETS; i += 16) {
    await Promise.all(
      Array.from({ length: Math.min(16, WALLETS - i) }, async (_, j) => {
        const w = id((i + j) * 3);
        await call(url, `/__dev/wallets/${w}/grant`, { body: { amount: 50, key: `seed-${w}` } });
        for (let k = 0; k < 3; k++) {
          await call(url, `/__dev/wallets/${w}/charge`, { body: { amount: 1, key: `seed-${w}-${k}` } });
        }
      }),
    );
  }
  console.log(
    `seeded ${WALLETS} wallets (1 grant + 3 charges each) in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
  );

  const rec = await timed(url, "/admin/reconcile");
  if (!rec.last.ok) throw new Error(`reconcile not ok: ${JSON.stringify(rec.last).slice(0, 300)}`);
  const stats30 = await timed(url, "/admin/stats?days=30");
  const stats7 = await timed(url, "/admin/stats?days=7");
  const search = await timed(url, "/admin/accounts?query=user3333&limit=20");
  const detail = await timed(url, `/admin/accounts/${id(0)}`);

  const rows = [
    [
      "GET /admin/reconcile",
      rec.ms,
      `${rec.last.accounts} wallets, ${(rec.ms / rec.last.accounts).toFixed(2)} ms/wallet, ok`,
    ],
    ["GET /admin/stats?days=30", stats30.ms, `${stats30.last.usage.generations} generations in window`],
    ["GET /admin/stats?days=7", stats7.ms, `${stats7.last.usage.generations} generations in window`],
    [
      "GET /admin/accounts?query=",
      search.ms,
      `${search.last.items.length} matches among ${ACCOUNTS} accounts`,
    ],
    [
      "GET /admin/accounts/:id",
      detail.ms,
      `${detail.last.stats.generations.total} generations, ${detail.last.stats.ledger.entries} ledger entries`,
    ],
  ];
  console.log(`\nmedian of ${RUNS} calls (wrangler dev, local D1):`);
  for (const [name, ms, note] of rows)
    console.log(`  ${name.padEnd(28)} ${ms.toFixed(1).padStart(8)} ms   ${note}`);
} finally {
  await stop();
}
