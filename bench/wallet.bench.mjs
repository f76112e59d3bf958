// Wallet throughput: reserve+settle pairs per second against `wrangler dev`.
//
// Starts its own Worker (temp --persist-to, dev routes on), then runs the same
// closed-loop load four ways: GET /api/health (the floor: the Worker doing no
// wallet work), POST /__dev/wallets/:id/ping (the floor for a pair: two
// round trips to one wallet object that change nothing), POST
// /__dev/wallets/:id/charge on ONE wallet (every pair goes through one Durable
// Object), and the same spread over many wallets. Each charge is one request
// doing reserve(1) then settle(1) over RPC. The ping and the one-wallet
// charges run in ABBA order so their ratio (issue 17: ≥ 0.8) shares the drift
// of a machine others use too.
// The Worker runs with LOG_LEVEL=warn: under wrangler dev every request log
// line is relayed through the wrangler process, which then takes most of a
// core from the same two the Worker and this client share (the floor drops
// from ~800 to ~470 req/s with them). BENCH_LOG_LEVEL=info measures with them.
// It prints ops/s, p50/p99 latency, D1 rows written per pair (from the D1
// batch metadata the wallet accumulates) and the invariants: every wallet's
// balance is what was granted minus what was charged, and reconcile agrees
// with D1. Targets (issue #3): ≥ 500 pairs/s on one wallet, ≤ 4 D1 rows per
// charged generation, zero invariant violations.
// Teams (issue #14): one team wallet with 50 members charging concurrently
// (each under a monthly limit, checked in the same transaction) against 50
// personal wallets doing the same, ABBA-ordered: pairs/s, p50/p99 and the
// ratio team ÷ personal (target ≥ 0.9); invariants: the pool never negative,
// no member over their limit, ledger = balance (reconcile).
import { existsSync } from "node:fs";
import { startLocalWorker } from "../scripts/local-worker.mjs";

// BENCH_RAMDISK=1 keeps the Worker's local state on /dev/shm: this machine's
// disk syncs each Durable Object commit, which production does not do on the
// object's thread (docs/decisions/020-throughput.md).
if (process.env.BENCH_RAMDISK && existsSync("/dev/shm")) process.env.TMPDIR = "/dev/shm";

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const OPS = Number(process.env.BENCH_OPS ?? 4000); // per scenario
const TIME_LIMIT_MS = 30_000; // per scenario, whatever OPS says
const WALLETS = 64;
const WARMUP = 200;
const MEMBERS = 50;
/** Above what a member charges in the run: the limit is checked on every charge, never reached. */
const MEMBER_LIMIT = 10_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function call(url, path, body) {
  const res = await fetch(`${url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${text}`);
  return JSON.parse(text);
}

/**
 * Closed loop: `concurrency` clients each send their next request when the
 * previous one answers, until `ops` requests or the time limit.
 */
async function load(concurrency, ops, request) {
  const latencies = [];
  let next = 0;
  let failures = 0;
  const samples = [];
  const started = performance.now();
  const deadline = started + TIME_LIMIT_MS;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ops && performance.now() < deadline) {
        const i = next++;
        const t = performance.now();
        const res = await request(i);
        const body = await res.text();
        if (!res.ok) {
          failures++;
          if (samples.length < 3) samples.push(`${res.status} ${body.slice(0, 200)}`);
        }
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  if (samples.length) console.log(`  failures, e.g.: ${samples.join(" | ")}`);
  return {
    done: latencies.length,
    failures,
    opsPerSec: latencies.length / seconds,
    p50: pct(50),
    p99: pct(99),
    seconds,
    latencies,
  };
}

/** Two runs of one scenario as one (ABBA ordering evens out warm-up and drift). */
function merged(a, b) {
  const latencies = [...a.latencies, ...b.latencies].sort((x, y) => x - y);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  const seconds = a.seconds + b.seconds;
  return {
    done: latencies.length,
    failures: a.failures + b.failures,
    opsPerSec: latencies.length / seconds,
    p50: pct(50),
    p99: pct(99),
    seconds,
    latencies,
  };
}

let chargeSeq = 0;
let retries = 0;

/**
 * One charge with its own idempotency key, retried with the same key when
 * the answer is lost (wrangler dev reloads the Worker whenever a file in the
 * tree changes, dropping requests in flight), so each charge counts once.
 */
async function charge(url, walletId, member) {
  const body = JSON.stringify({ key: `bench-${process.pid}-${++chargeSeq}`, member });
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${url}/__dev/wallets/${walletId}/charge`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body,
      });
      if (res.status < 500 || attempt === 5) return res;
      await res.arrayBuffer();
    } catch (error) {
      if (attempt === 5) throw error;
    }
    retries++;
    await sleep(100 * attempt);
  }
}

async function rowsWritten(url, walletIds) {
  const stats = await Promise.all(walletIds.map((id) => call(url, `/__dev/wallets/${id}/stats`)));
  return stats.reduce((n, s) => n + s.stats.d1RowsWritten, 0);
}

/** Every wallet holds exactly what it was granted minus what it was charged. */
async function checkBalances(url, expected) {
  const bad = [];
  for (const [id, want] of expected) {
    const { tokens } = await call(url, `/__dev/wallets/${id}/stats`);
    if (tokens.balance !== want || tokens.held !== 0 || tokens.available < 0) {
      bad.push({ id, want, got: tokens });
    }
  }
  return bad;
}

function row(name, r, extra = "") {
  const f = (x) => x.toFixed(1).padStart(7);
  console.log(
    `${name.padEnd(26)} ${String(r.done).padStart(6)} ops ${f(r.opsPerSec)} ops/s  p50 ${f(r.p50)} ms  p99 ${f(r.p99)} ms  failed ${r.failures}${extra}`,
  );
}

const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? "warn";
const worker = await startLocalWorker({ bundled: true, vars: { AUTH_DEV_LOGIN: "true", LOG_LEVEL } });
let violations = 0;
try {
  const { url } = worker;
  const GRANT = 1_000_000;
  const one = `acc_bench_one_${Date.now()}`;
  const many = Array.from({ length: WALLETS }, (_, i) => `acc_bench_many_${i}_${Date.now()}`);
  const solo = `acc_bench_solo_${Date.now()}`;
  const teamId = `team_bench${Date.now()}`;
  const personal = Array.from({ length: MEMBERS }, (_, i) => `acc_bench_personal_${i}_${Date.now()}`);
  const everyone = [one, solo, teamId, ...many, ...personal];
  for (const id of everyone) await call(url, `/__dev/wallets/${id}/grant`, { amount: GRANT });
  const charged = new Map(everyone.map((id) => [id, 0]));
  const members = Array.from({ length: MEMBERS }, (_, i) => ({
    accountId: `acc_bench_member_${i}`,
    monthlyLimit: MEMBER_LIMIT,
  }));
  const chargedBy = new Map(members.map((m) => [m.accountId, 0]));
  let poolLow = Number.POSITIVE_INFINITY;
  let limitRefusals = 0;
  // Reads each answer: the pool's available tokens after every charge, and member_limit_reached.
  const chargeAsMember = async (i) => {
    const m = members[i];
    const res = await charge(url, teamId, m);
    const body = await res.json();
    if (res.ok) {
      charged.set(teamId, charged.get(teamId) + 1);
      chargedBy.set(m.accountId, chargedBy.get(m.accountId) + 1);
      poolLow = Math.min(poolLow, body.tokens.available);
    } else if (body.error?.code === "member_limit_reached") limitRefusals++;
    return new Response(JSON.stringify(body), { status: res.status });
  };
  const counted = (id) => (res) => {
    if (res.ok) charged.set(id, charged.get(id) + 1);
    return res;
  };

  // Warm both paths so the first scenario does not pay for compilation.
  await load(8, WARMUP, () => fetch(`${url}/api/health`));
  await load(8, WARMUP, () => charge(url, solo).then(counted(solo)));

  console.log(
    `concurrency ${CONCURRENCY}, up to ${OPS} requests or ${TIME_LIMIT_MS / 1000} s per scenario, LOG_LEVEL=${LOG_LEVEL}\n`,
  );
  const floor = await load(CONCURRENCY, OPS, () => fetch(`${url}/api/health`));
  row("GET /api/health (floor)", floor);
  // Ping and one-wallet charges in ABBA order, half the requests each time: the
  // ratio of the two (issue 17's target) then shares the machine's drift.
  const pingOnce = () =>
    load(CONCURRENCY, OPS / 2, () =>
      fetch(`${url}/__dev/wallets/${solo}/ping`, {
        method: "POST",
        body: "{}",
        headers: { "Content-Type": "application/json" },
      }),
    );
  const chargeOnce = () => load(CONCURRENCY, OPS / 2, () => charge(url, one).then(counted(one)));
  const before1 = await rowsWritten(url, [one]);
  const pingA = await pingOnce();
  const singleA = await chargeOnce();
  const singleB = await chargeOnce();
  const pingB = await pingOnce();
  const ping = merged(pingA, pingB);
  const single = merged(singleA, singleB);
  row("ping, one wallet (2 RPCs)", ping);
  const rows1 = ((await rowsWritten(url, [one])) - before1) / charged.get(one);
  row("charge, one wallet", single, `  D1 rows/pair ${rows1.toFixed(2)}`);

  const beforeN = await rowsWritten(url, many);
  const spread = await load(CONCURRENCY, OPS, (i) => {
    const id = many[i % WALLETS];
    return charge(url, id).then(counted(id));
  });
  const chargedN = many.reduce((n, id) => n + charged.get(id), 0);
  const rowsN = ((await rowsWritten(url, many)) - beforeN) / chargedN;
  row(`charge, ${WALLETS} wallets`, spread, `  D1 rows/pair ${rowsN.toFixed(2)}`);

  // A team: 50 members on one wallet vs 50 personal wallets, one client each.
  const personalFirst = await load(MEMBERS, OPS / 2, (i) => {
    const id = personal[i % MEMBERS];
    return charge(url, id).then(counted(id));
  });
  const teamA = await load(MEMBERS, OPS / 2, (i) => chargeAsMember(i % MEMBERS));
  const teamB = await load(MEMBERS, OPS / 2, (i) => chargeAsMember(i % MEMBERS));
  const personalSecond = await load(MEMBERS, OPS / 2, (i) => {
    const id = personal[i % MEMBERS];
    return charge(url, id).then(counted(id));
  });
  const teamRun = merged(teamA, teamB);
  const personalRun = merged(personalFirst, personalSecond);
  row(`team, ${MEMBERS} members`, teamRun);
  row(`personal, ${MEMBERS} wallets`, personalRun);

  // One at a time: the cost of a lone generation, with no batching to share.
  const soloBefore = await rowsWritten(url, [solo]);
  const soloStart = charged.get(solo);
  const sequential = await load(1, 200, () => charge(url, solo).then(counted(solo)));
  const rowsSolo = ((await rowsWritten(url, [solo])) - soloBefore) / (charged.get(solo) - soloStart);
  row("charge, sequential", sequential, `  D1 rows/pair ${rowsSolo.toFixed(2)}`);

  // Limits that bind: 10 members with a limit of 5 each send 20 charges each at
  // once; exactly 5 each go through (not timed: refusals are cheap).
  const tight = Array.from({ length: 10 }, (_, i) => ({
    accountId: `acc_bench_tight_${i}`,
    monthlyLimit: 5,
  }));
  for (const m of tight) chargedBy.set(m.accountId, 0);
  await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const m = tight[i % tight.length];
      const res = await charge(url, teamId, m);
      const body = await res.json();
      if (res.ok) {
        charged.set(teamId, charged.get(teamId) + 1);
        chargedBy.set(m.accountId, chargedBy.get(m.accountId) + 1);
        poolLow = Math.min(poolLow, body.tokens.available);
      } else if (body.error?.code === "member_limit_reached") limitRefusals++;
      else throw new Error(`tight limits: HTTP ${res.status} ${JSON.stringify(body)}`);
    }),
  );
  const tightWrong = tight.filter((m) => chargedBy.get(m.accountId) !== m.monthlyLimit);

  const expected = new Map([...charged].map(([id, n]) => [id, GRANT - n]));
  const badBalances = await checkBalances(url, expected);
  const reconcile = await call(url, "/__dev/reconcile");
  violations = badBalances.length + reconcile.mismatches.length + reconcile.errors.length;
  violations += single.failures + spread.failures + sequential.failures;
  violations += teamRun.failures + personalRun.failures;
  const { members: spend } = await call(url, `/__dev/wallets/${teamId}/stats`);
  const limitOf = (id) => tight.find((m) => m.accountId === id)?.monthlyLimit ?? MEMBER_LIMIT;
  const overLimit = spend.filter(
    (s) => s.spent > limitOf(s.accountId) || s.spent !== chargedBy.get(s.accountId),
  );
  const poolNegative = poolLow < 0;
  violations += overLimit.length + tightWrong.length + (poolNegative ? 1 : 0);

  console.log("");
  console.log(
    `one wallet / floor:       ${(single.opsPerSec / floor.opsPerSec).toFixed(2)} (pairs/s ÷ health req/s)`,
  );
  console.log(`many wallets / floor:     ${(spread.opsPerSec / floor.opsPerSec).toFixed(2)}`);
  const pingRatio = single.opsPerSec / ping.opsPerSec;
  console.log(
    `one wallet / ping:        ${pingRatio.toFixed(2)} (pairs/s ÷ empty two-RPC pairs/s, ABBA; target ≥ 0.8: ${pingRatio >= 0.8 ? "met" : "missed"})`,
  );
  console.log(
    `D1 rows per pair:         ${rowsSolo.toFixed(2)} alone, ${rows1.toFixed(2)} under load on one wallet (target ≤ 4)`,
  );
  console.log(
    `invariants:               balances ${badBalances.length ? `WRONG ${JSON.stringify(badBalances)}` : "ok"}; ` +
      `reconcile ok=${reconcile.ok} over ${reconcile.accounts} wallets, ${reconcile.mismatches.length} mismatches, ` +
      `${reconcile.pending} entries pending`,
  );
  console.log(
    `team ÷ personal:          ${(teamRun.opsPerSec / personalRun.opsPerSec).toFixed(2)} pairs/s (target ≥ 0.9); ` +
      `p50 ${teamRun.p50.toFixed(1)} vs ${personalRun.p50.toFixed(1)} ms, p99 ${teamRun.p99.toFixed(1)} vs ${personalRun.p99.toFixed(1)} ms`,
  );
  console.log(
    `team invariants:          pool never negative ${poolNegative ? `WRONG (${poolLow})` : `ok (lowest ${poolLow})`}; ` +
      `members over limit or miscounted ${overLimit.length ? `WRONG ${JSON.stringify(overLimit)}` : "none"} ` +
      `(${spend.length} members, ${limitRefusals} limit refusals); ` +
      `binding limits ${tightWrong.length ? `WRONG ${JSON.stringify(tightWrong)}` : "exact (5 of 20 each)"}`,
  );
  console.log(`retried charges:          ${retries} (answers lost to Worker reloads; each charged once)`);
  console.log(
    `target ≥ 500 pairs/s on one wallet: ${single.opsPerSec >= 500 ? "met" : "missed"} (${single.opsPerSec.toFixed(0)})`,
  );
} finally {
  await worker.stop();
}
if (violations > 0) {
  console.error(`${violations} invariant violations`);
  process.exit(1);
}
