// Admin reads at scale (issue 18): costs that follow the work, not the history.
//
// Starts its own Worker (temp --persist-to, dev routes on, an admin token),
// seeds ACCOUNTS accounts and SMALL generations inside a 30-day window straight
// into local D1 (wrangler d1 execute; D1's triggers keep the stats rollups as
// the rows land), then measures:
//   stats      GET /admin/stats?days=30 with SMALL and with LARGE generations in
//              the window (the rest seeded while the Worker runs): time ratio, target ≤ 1.2
//   reconcile  WALLETS wallets (a dev grant each); after a clean run, CHANGED of
//              them change (a dev charge) and one gets a forged ledger row; the
//              next run (changed + sample) against a full pass (?full=1):
//              target ≤ 5 %, and the forged row must be found
//   move       LEGACY legacy rows with their text in D1 moved into their owners'
//              objects (POST /admin/maintenance/move-content until done): rows/s,
//              and the text left in D1 (must be none)
//   bytes      D1's size (page_count × page_size) before and after API_GENERATIONS
//              real generations through /api/generate (mock model), once their
//              rows reached D1 and the move ran: bytes per generation, target
//              ≤ 300; the same paid by a team (each account its own team's
//              member); and the same for the seeded rows (metadata only)
//   search     GET /admin/accounts?query= and /admin/accounts/:id as before
// Each time is the median of RUNS calls unless said. The last line sums it up.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { offlineEnv, run } from "../scripts/lib.mjs";
import { startLocalWorker } from "../scripts/local-worker.mjs";

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 5_000);
const SMALL = Number(process.env.BENCH_GENERATIONS ?? 25_000);
const LARGE = Number(process.env.BENCH_GENERATIONS_LARGE ?? 250_000);
const WALLETS = Number(process.env.BENCH_WALLETS ?? 2_000);
const CHANGED = 20;
const API_GENERATIONS = Number(process.env.BENCH_API_GENERATIONS ?? 200);
/** Accounts the API generations are spread over, to stay under the per-account rate limit (20 a minute). */
const API_ACCOUNTS = Math.ceil(API_GENERATIONS / 10);
/** Legacy rows (text in D1) the move job takes into their owners' objects. */
const LEGACY = Number(process.env.BENCH_LEGACY ?? 2_000);
const LEGACY_ACCOUNTS = 200;
const RUNS = 5;
const TOKEN = "bench-admin-token";
const DAY = 86_400_000;
/** Days back the seeded generations spread over: all inside a 30-day window. */
const SPREAD_DAYS = 29;

const id = (i) => `acc_bench${String(i).padStart(8, "0")}`;

function accountsSql(now) {
  return `
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${ACCOUNTS - 1})
INSERT INTO accounts (id, kind, email, visitor_id, status, created_at)
SELECT 'acc_bench' || printf('%08d', i),
       CASE WHEN i % 3 = 0 THEN 'user' ELSE 'anonymous' END,
       CASE WHEN i % 3 = 0 THEN 'user' || i || '@bench.example' END,
       CASE WHEN i % 3 != 0 THEN 'visitor-' || i END,
       'active', ${now} - (i % 60) * ${DAY}
FROM n;`;
}

/**
 * Generations [from, to) made inside SQLite by a recursive CTE; each settles as
 * the route does. Metadata only, as D1 keeps a generation since the text moved
 * to the account's object (docs/decisions/018).
 */
function generationsSql(now, from, to) {
  return `
WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${to - 1})
INSERT INTO generations (id, account_id, site, feature, issue_type,
  model, status, held, charged, latency_ms, first_delta_ms, created_at)
SELECT 'gen_bench' || printf('%08d', i), 'acc_bench' || printf('%08d', i % ${ACCOUNTS}),
       CASE i % 3 WHEN 0 THEN 'jira' WHEN 1 THEN 'gitlab' ELSE 'linear' END,
       CASE i % 5 WHEN 0 THEN 'subtasks' WHEN 1 THEN 'refine' ELSE 'generate' END,
       'bug', 'openai/gpt-oss-20b',
       CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'succeeded' END,
       1, CASE WHEN i % 20 = 0 THEN 0 ELSE 1 END, 200 + (i * 37) % 3000, 100 + (i * 13) % 900,
       ${now} - (i % ${SPREAD_DAYS}) * ${DAY} - (i % 1000) * 1000
FROM n;`;
}

/**
 * Legacy generations: written before the objects kept the text, so D1 has
 * their key, hash, prompt, context and a ~2 KB ticket (what the move takes out).
 * Owned by the first LEGACY_ACCOUNTS bench accounts; ids sort after the others.
 */
function legacySql(now) {
  return `
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${LEGACY - 1})
INSERT INTO generations (id, account_id, idempotency_key, request_hash, site, feature, issue_type, prompt,
  context, title, description, output, model, status, held, charged, latency_ms, first_delta_ms, created_at,
  completed_at)
SELECT 'gen_legacy' || printf('%08d', i), 'acc_bench' || printf('%08d', i % ${LEGACY_ACCOUNTS}),
       'legacy-' || i, printf('%064d', i), 'jira', 'generate', 'story',
       'Customers want to export their invoices as CSV, filtered by date range and status ' || i,
       '{"title":"Invoices export","url":"https://jira.example/browse/INV-' || i || '"}',
       'Export invoices as CSV ' || i, printf('%.2000c', '#'), printf('%.2400c', '{'),
       'openai/gpt-oss-20b', 'succeeded', 1, 1, 900, 200, ${now} - 40 * ${DAY}, ${now} - 40 * ${DAY}
FROM n;`;
}

function d1Execute(persist, sql) {
  return run("wrangler", ["d1", "execute", "DB", "--local", "--persist-to", persist, "--command", sql], {
    stdio: "ignore",
    env: { ...offlineEnv, CI: "true" },
  });
}

/**
 * D1's logical size: pages in use, WAL included (the main file alone lags
 * behind the WAL), and the pages of each table and index (SQLite's dbstat).
 */
function dbBytes(persist) {
  const dir = join(persist, "v3", "d1", "miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  const r = spawnSync(
    process.execPath,
    [
      "--no-warnings",
      "-e",
      `const { DatabaseSync } = require("node:sqlite");
       const db = new DatabaseSync(${JSON.stringify(join(dir, file))}, { readOnly: true });
       const pages = db.prepare("PRAGMA page_count").get().page_count;
       const size = db.prepare("PRAGMA page_size").get().page_size;
       const free = db.prepare("PRAGMA freelist_count").get().freelist_count;
       const byTable = Object.fromEntries(db.prepare("SELECT name, sum(pgsize) AS b FROM dbstat GROUP BY name").all().map((t) => [t.name, t.b]));
       console.log(JSON.stringify({ total: (pages - free) * size, byTable }));`,
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`reading the D1 file failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim());
}

/** Bytes per generation by table or index between two dbBytes readings, largest first. */
function bytesByTable(before, after, n) {
  return Object.entries(after.byTable)
    .map(([name, b]) => [name, (b - (before.byTable[name] ?? 0)) / n])
    .filter(([, b]) => b > 0)
    .sort((x, y) => y[1] - x[1])
    .map(([name, b]) => `${name} ${b.toFixed(0)}`)
    .join(", ");
}

async function call(url, path, { body, admin = false, token, key, ip } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (admin) headers.Authorization = `Bearer ${TOKEN}`;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (key) headers["Idempotency-Key"] = key;
  if (ip) headers["CF-Connecting-IP"] = ip;
  const res = await fetch(`${url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** POST /admin/maintenance/move-content until a pass says done; the number of calls. */
async function moveAll(url) {
  for (let calls = 1; ; calls++) {
    const r = await call(url, "/admin/maintenance/move-content?batches=200", { body: {}, admin: true });
    if (r.done) return calls;
    if (calls > 1_000) throw new Error(`the move is not done: ${JSON.stringify(r)}`);
  }
}

/** D1 rows with ids LIKE `pattern` that still carry ticket text. */
async function textRows(persist, pattern) {
  const r = spawnSync(
    "wrangler",
    [
      "d1",
      "execute",
      "DB",
      "--local",
      "--persist-to",
      persist,
      "--json",
      "--command",
      `SELECT count(*) AS n FROM generations WHERE id LIKE '${pattern}' AND (prompt IS NOT NULL OR title IS NOT NULL OR description IS NOT NULL OR output IS NOT NULL OR context IS NOT NULL)`,
    ],
    // The answer is a log line: a quieter level drops it.
    { encoding: "utf8", env: { ...offlineEnv, CI: "true", WRANGLER_LOG: "log" } },
  );
  if (r.status !== 0) throw new Error(`counting text rows failed: ${r.stderr}`);
  return JSON.parse(r.stdout)[0].results[0].n;
}

/** Median wall time of `runs` admin GETs after one untimed warm-up (several runs only), and the last answer. */
async function timed(url, path, runs = RUNS) {
  const times = [];
  let last;
  if (runs > 1) await call(url, path, { admin: true });
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    last = await call(url, path, { admin: true });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], last };
}

async function inParallel(n, width, fn) {
  for (let i = 0; i < n; i += width) {
    await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, j) => fn(i + j)));
  }
}

/**
 * D1 bytes per generation through /api/generate: API_GENERATIONS over
 * API_ACCOUNTS accounts, once D1 has every one final and the move ran. With
 * `teams`, each account makes a team and its generations are paid by it.
 */
async function bytesThroughApi(label, teams) {
  const logins = [];
  for (let i = 0; i < API_ACCOUNTS; i++) {
    const login = await call(url, "/auth/dev-login", {
      body: { email: `bytes-${label}-${i}-${now}@bench.example` },
    });
    let wallet;
    if (teams) {
      const made = await call(url, "/api/teams", { token: login.token, body: { name: `Bench ${i}` } });
      wallet = made.team.id;
    }
    await call(url, `/__dev/wallets/${wallet ?? login.account.id}/grant`, { body: { amount: 100_000 } });
    logins.push({ ...login, wallet });
  }
  const sizeBefore = dbBytes(persist);
  const started = performance.now();
  await inParallel(API_GENERATIONS, API_ACCOUNTS, async (i) => {
    const login = logins[i % API_ACCOUNTS];
    for (;;) {
      try {
        return await call(url, "/api/generate", {
          token: login.token,
          key: `bench-bytes-${label}-${now}-${i}`,
          // One address per account, as real users have: the per-address limit is not what is measured.
          ip: `203.0.113.${(i % API_ACCOUNTS) + 1}`,
          body: {
            site: "jira",
            feature: "generate",
            issueType: "story",
            prompt: `Customers want to export their invoices as CSV from the billing page, filtered by date range and status (${i}).`,
            ...(login.wallet ? { wallet: login.wallet } : {}),
          },
        });
      } catch (error) {
        if (!String(error).includes("HTTP 429")) throw error;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  });
  console.log(`${API_GENERATIONS} ${label} generations through /api/generate in ${seconds(started)}`);
  // Their D1 rows land with the settle's outbox batch: wait until every one is final there.
  for (let tries = 0; ; tries++) {
    const views = await Promise.all(
      logins.map((l) => call(url, `/admin/accounts/${l.account.id}`, { admin: true })),
    );
    const g = views.reduce(
      (t, v) => ({
        total: t.total + v.stats.generations.total,
        pending: t.pending + v.stats.generations.pending,
      }),
      { total: 0, pending: 0 },
    );
    if (g.total >= API_GENERATIONS && g.pending === 0) break;
    if (tries > 60)
      throw new Error(`D1 has ${g.total} generations (${g.pending} pending) of ${API_GENERATIONS}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  // Whatever text D1 still got (a route that wrote it) moves now: the figure is after the move.
  await moveAll(url);
  const sizeAfter = dbBytes(persist);
  return {
    bytes: (sizeAfter.total - sizeBefore.total) / API_GENERATIONS,
    byTable: bytesByTable(sizeBefore, sizeAfter, API_GENERATIONS),
  };
}

const seconds = (t) => `${((performance.now() - t) / 1000).toFixed(1)} s`;
const now = Date.now();
let started = performance.now();
const { url, persist, stop } = await startLocalWorker({
  bundled: true,
  vars: { AUTH_DEV_LOGIN: "true", ADMIN_TOKEN: TOKEN, LOG_LEVEL: "warn" },
  seed: async (persist) => {
    await d1Execute(persist, accountsSql(now) + generationsSql(now, 0, SMALL));
    console.log(`seeded ${ACCOUNTS} accounts and ${SMALL} generations in ${seconds(started)}`);
  },
});
try {
  const rows = [];
  const stats = async (n) => {
    const s = await timed(url, "/admin/stats?days=30");
    if (s.last.usage.generations !== n) throw new Error(`stats saw ${s.last.usage.generations}, not ${n}`);
    rows.push([`GET /admin/stats?days=30`, s.ms, `${n} generations in the window`]);
    console.log(`  stats with ${n} generations: ${s.ms.toFixed(1)} ms`);
    return s.ms;
  };
  const statsSmall = await stats(SMALL);

  started = performance.now();
  const before = dbBytes(persist).total;
  for (let from = SMALL; from < LARGE; from += 75_000) {
    await d1Execute(persist, generationsSql(now, from, Math.min(LARGE, from + 75_000)));
  }
  const seededBytes = (dbBytes(persist).total - before) / (LARGE - SMALL);
  console.log(`  D1 bytes per seeded generation (no ticket text): ${seededBytes.toFixed(0)}`);
  console.log(`seeded ${LARGE - SMALL} more generations in ${seconds(started)}`);
  const statsLarge = await stats(LARGE);
  const statsRatio = statsLarge / statsSmall;

  // Reconcile: every wallet verified once, then CHANGED of them change.
  started = performance.now();
  await inParallel(WALLETS, 16, (i) =>
    call(url, `/__dev/wallets/${id(i)}/grant`, { body: { amount: 50, key: `seed-${i}` } }),
  );
  console.log(`seeded ${WALLETS} wallets (a grant each) in ${seconds(started)}`);
  const first = await timed(url, "/admin/reconcile", 1);
  if (!first.last.ok) throw new Error(`reconcile not ok: ${JSON.stringify(first.last).slice(0, 300)}`);
  const full = await timed(url, "/admin/reconcile?full=1", 1);
  if (!full.last.ok || full.last.accounts < WALLETS) throw new Error("the full pass missed wallets");
  rows.push(["GET /admin/reconcile?full=1", full.ms, `${full.last.accounts} wallets, all checked`]);
  console.log(`  reconcile: first run ${first.ms.toFixed(0)} ms, full pass ${full.ms.toFixed(0)} ms`);

  const changed = Array.from({ length: CHANGED }, (_, i) => id(Math.floor((i * WALLETS) / CHANGED) + 7));
  await inParallel(CHANGED, 10, (i) =>
    call(url, `/__dev/wallets/${changed[i]}/charge`, { body: { amount: 1, key: `change-${i}` } }),
  );
  const forged = changed[CHANGED / 2];
  await d1Execute(
    persist,
    `INSERT INTO ledger_entries (id, wallet_id, seq, type, amount, balance_after, description, created_at)
     VALUES ('txn_forged', '${forged}', 1000, 'grant', 500, 550, 'forged', ${now})`,
  );
  const incremental = await timed(url, "/admin/reconcile", 1);
  const r = incremental.last;
  const found = r.mismatches.map((m) => m.accountId);
  if (found.length !== 1 || found[0] !== forged) throw new Error(`expected ${forged} only, got ${found}`);
  rows.push([
    "GET /admin/reconcile",
    incremental.ms,
    `${r.accounts} wallets (${r.changed} changed, ${r.sampled} sampled), forged row found`,
  ]);
  const reconcileRatio = incremental.ms / full.ms;

  // The move of legacy text into the owners' objects.
  await d1Execute(persist, legacySql(now));
  if ((await textRows(persist, "gen_legacy%")) !== LEGACY) throw new Error("legacy rows not seeded");
  started = performance.now();
  const calls = await moveAll(url);
  const moveSeconds = (performance.now() - started) / 1000;
  const legacyLeft = await textRows(persist, "gen_legacy%");
  if (legacyLeft !== 0) throw new Error(`${legacyLeft} legacy rows kept their text in D1`);
  rows.push([
    "POST …/move-content",
    (moveSeconds * 1000) / calls,
    `per call; ${LEGACY} legacy rows in ${moveSeconds.toFixed(1)} s = ${(LEGACY / moveSeconds).toFixed(0)} rows/s, none left in D1`,
  ]);
  console.log(
    `  move: ${LEGACY} legacy rows into their objects in ${moveSeconds.toFixed(1)} s (${calls} calls)`,
  );

  // Bytes per generation through the API: what a real ticket costs D1, paid by
  // each account's own wallet, then by a team's (each account its own team's member).
  const personalBytes = await bytesThroughApi("personal", false);
  const teamBytes = await bytesThroughApi("team", true);
  const apiBytes = personalBytes.bytes;
  const apiByTable = personalBytes.byTable;
  const textLeft = await textRows(persist, "gen_bench%");

  const search = await timed(url, "/admin/accounts?query=user3333&limit=20");
  rows.push(["GET /admin/accounts?query=", search.ms, `${search.last.items.length} matches`]);
  const detail = await timed(url, `/admin/accounts/${id(0)}`);
  rows.push(["GET /admin/accounts/:id", detail.ms, `${detail.last.stats.generations.total} generations`]);

  console.log(`\nmedian of ${RUNS} calls, reconcile once (wrangler dev, local D1):`);
  for (const [name, ms, note] of rows)
    console.log(`  ${name.padEnd(28)} ${ms.toFixed(1).padStart(8)} ms   ${note}`);
  console.log(
    `  D1 bytes per generation      ${apiBytes.toFixed(0).padStart(8)}      through /api/generate, after the move (${textLeft} rows with text left; target ≤ 300: ${apiBytes <= 300 ? "met" : "missed"})`,
  );
  console.log(`    by table and index (pages, so per-page slack included): ${apiByTable}`);
  console.log(
    `  D1 bytes per team generation ${teamBytes.bytes.toFixed(0).padStart(8)}      through /api/generate, paid by the member's team (target ≤ 300: ${teamBytes.bytes <= 300 ? "met" : "missed"})`,
  );
  console.log(`    by table and index: ${teamBytes.byTable}`);
  console.log(
    `  D1 bytes per seeded row      ${seededBytes.toFixed(0).padStart(8)}      metadata only, rollups and indexes included`,
  );
  console.log(
    `scale: stats 250k/25k ratio ${statsRatio.toFixed(2)}, reconcile changed/full ${(reconcileRatio * 100).toFixed(1)} %, D1 bytes per generation ${apiBytes.toFixed(0)}`,
  );
} finally {
  await stop();
}
