// Where the Worker's CPU goes under load: `node bench/profile.mjs charge` or
// `node bench/profile.mjs generate` (not part of `npm run bench`).
//
// Starts its own `wrangler dev` (bundled, LOG_LEVEL=warn), warms it, then
// records a V8 CPU profile through the inspector while a closed loop runs:
// `charge` = reserve+settle pairs on one wallet at 32 concurrent (the Worker
// and the wallet object share an isolate under wrangler dev, so both show);
// `generate` = /api/generate across 200 wallets at 200 concurrent against the
// fake model (bench/fake-model.mjs). Prints self time by function and by
// source file (the bundle's "// path" markers), busiest first. D1 runs in
// another isolate and is not in the profile.
import { writeFileSync } from "node:fs";
import WebSocket from "ws";
import { startLocalWorker } from "../scripts/local-worker.mjs";
import { startFake } from "./fake-model.mjs";

const mode = process.argv[2] ?? "charge";
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 8);
const TOP = Number(process.env.PROFILE_TOP ?? 40);
/** `generate` only: streams at once (200 for the CPU figure, 1 for the path before the first token). */
const CONCURRENCY = Number(process.env.PROFILE_CONCURRENCY ?? 200);

async function inspector(port) {
  const list = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const target = list.find((t) => t.webSocketDebuggerUrl) ?? list[0];
  // wrangler's inspector proxy refuses a client without a loopback Origin.
  const ws = new WebSocket(target.webSocketDebuggerUrl, { origin: "http://localhost" });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const waiting = new Map();
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.id && waiting.has(msg.id)) {
      waiting.get(msg.id)(msg);
      waiting.delete(msg.id);
    }
  };
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      const n = ++id;
      waiting.set(n, resolve);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  return { send, close: () => ws.close() };
}

/** Closed loop for `seconds`: `concurrency` clients, each sending its next request on an answer. */
async function loop(concurrency, seconds, request) {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, c) => {
      while (performance.now() < deadline) {
        const res = await request(c, done);
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        done++;
      }
    }),
  );
  return done;
}

const post = (url, body, headers = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

const fake = mode === "generate" ? await startFake() : null;
const worker = await startLocalWorker({
  bundled: true,
  vars: {
    AUTH_DEV_LOGIN: "true",
    LOG_LEVEL: "warn",
    ...(fake
      ? {
          OPENROUTER_API_KEY: "x",
          OPENROUTER_BASE_URL: `http://127.0.0.1:${fake.address().port}/api/v1`,
          OPENROUTER_MODEL: "bench/model",
        }
      : {}),
  },
});
try {
  const { url } = worker;
  let run;
  if (mode === "charge") {
    const id = `acc_profile_${Date.now()}`;
    await post(`${url}/__dev/wallets/${id}/grant`, { amount: 1_000_000 });
    let n = 0;
    run = (s) => loop(32, s, () => post(`${url}/__dev/wallets/${id}/charge`, { key: `p${++n}` }));
  } else if (mode === "ping") {
    const id = `acc_profile_${Date.now()}`;
    await post(`${url}/__dev/wallets/${id}/grant`, { amount: 1_000_000 });
    run = (s) => loop(32, s, () => post(`${url}/__dev/wallets/${id}/ping`, {}));
  } else if (mode === "health") {
    run = (s) => loop(32, s, () => fetch(`${url}/api/health`));
  } else if (mode === "generate") {
    const accounts = [];
    for (let i = 0; i < 200; i++) {
      const login = await (
        await post(`${url}/auth/dev-login`, { email: `profile-${i}@example.test` })
      ).json();
      await post(`${url}/__dev/wallets/${login.account.id}/grant`, { amount: 100_000 });
      accounts.push({ token: login.token, ip: `198.51.${100 + Math.floor(i / 250)}.${(i % 250) + 1}` });
    }
    const body = { site: "jira", feature: "generate", issueType: "task", prompt: "Benchmark ticket" };
    run = (s) =>
      loop(CONCURRENCY, s, (c, done) => {
        // Spread over the accounts, so no account meets its rate limit.
        const a = accounts[(c + done) % accounts.length];
        return post(`${url}/api/generate`, body, {
          Accept: "text/event-stream",
          Authorization: `Bearer ${a.token}`,
          "Idempotency-Key": crypto.randomUUID(),
          "CF-Connecting-IP": a.ip,
        });
      });
  } else {
    throw new Error(`unknown mode ${mode} (charge | ping | health | generate)`);
  }
  await run(3); // warm-up
  const ins = await inspector(worker.inspectorPort);
  await ins.send("Profiler.enable");
  await ins.send("Profiler.setSamplingInterval", { interval: 200 });
  await ins.send("Profiler.start");
  const started = performance.now();
  const done = await run(SECONDS);
  const wall = (performance.now() - started) / 1000;
  const { result } = await ins.send("Profiler.stop");
  ins.close();
  // PROFILE_SAVE=file.cpuprofile keeps the raw profile (Chrome DevTools opens it, timeline included).
  if (process.env.PROFILE_SAVE) writeFileSync(process.env.PROFILE_SAVE, JSON.stringify(result.profile));
  report(result.profile, done, wall);
} finally {
  await worker.stop();
  fake?.close();
  fake?.closeAllConnections();
}

function report(profile, done, wall) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (dt[i + 1] ?? dt[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fnTime = new Map();
  for (const [id, us] of self) {
    const f = byId.get(id).callFrame;
    const name = `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-1)[0]}:${f.lineNumber + 1}`;
    fnTime.set(name, (fnTime.get(name) ?? 0) + us);
  }
  const busy = total - (fnTime.get("(idle) :0") ?? 0);
  // Inclusive time of the functions named in PROFILE_INCLUSIVE (comma-separated).
  const wanted = (process.env.PROFILE_INCLUSIVE ?? "").split(",").filter(Boolean);
  if (wanted.length) {
    const inclusive = new Map();
    const walk = (node, open) => {
      const name = node.callFrame.functionName;
      const add = wanted.includes(name) && !open.has(name);
      const here = add ? new Set([...open, name]) : open;
      let sum = self.get(node.id) ?? 0;
      for (const c of node.children ?? []) sum += walk(byId.get(c), here);
      if (add) inclusive.set(name, (inclusive.get(name) ?? 0) + sum);
      return sum;
    };
    walk(profile.nodes[0], new Set());
    for (const name of wanted) {
      const us = inclusive.get(name) ?? 0;
      console.log(
        `incl ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${(us / done / 1000).toFixed(4)} ms/req  ${name}`,
      );
    }
  }
  console.log(`${mode}: ${done} requests in ${wall.toFixed(1)} s = ${(done / wall).toFixed(1)}/s`);
  console.log(
    `isolate busy ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms sampled: ${(busy / 1000 / done).toFixed(3)} ms CPU per request`,
  );
  const rows = [...fnTime]
    .filter(([name]) => !name.startsWith("(idle)"))
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP);
  for (const [name, us] of rows) {
    console.log(
      `${((100 * us) / busy).toFixed(1).padStart(5)}%  ${(us / done / 1000).toFixed(4)} ms/req  ${name}`,
    );
  }
}
