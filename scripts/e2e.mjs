// `npm run test:e2e`: the extension in real Chromium against the fixture
// sites and a real local Worker (mock AI, dev login). Everything it starts,
// it stops; every file it writes goes to a temp dir (screenshots to .tmp/).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeCertificate, startFixtureServer } from "../test/fixtures/server.mjs";
import { offlineEnv, run } from "./lib.mjs";

/** A port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * `wrangler dev` on a free loopback port with its own state: migrations
 * applied, mock AI, demo billing, dev login. It reads only the env file
 * written here, never the developer's .dev.vars (which may hold real keys).
 */
export async function startWorker(dir, port) {
  const persist = join(dir, "state");
  const envFile = join(dir, "worker.env");
  writeFileSync(envFile, "AUTH_DEV_LOGIN=true\nADMIN_TOKEN=e2e-admin-token\n");
  await run("wrangler", ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persist];
  args.push("--env-file", envFile, "--var", "AUTH_DEV_LOGIN:true", "--show-interactive-dev-session=false");
  const child = spawn("wrangler", args, {
    env: offlineEnv,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let log = "";
  const keep = (chunk) => {
    log = (log + chunk).slice(-20_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", resolve);
      process.kill(-child.pid, "SIGTERM");
      setTimeout(() => child.exitCode === null && process.kill(-child.pid, "SIGKILL"), 5000).unref();
    });
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${log}`);
    try {
      const health = await fetch(`${url}/api/health`).then((r) => r.json());
      if (health.ai !== "mock") {
        await stop();
        throw new Error(`the e2e Worker must run on mock AI, got ${JSON.stringify(health)}`);
      }
      return { url, stop, log: () => log };
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("the e2e Worker")) throw err;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`wrangler dev did not answer on ${url}:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export async function buildExtension(dir, apiUrl) {
  const outDir = join(dir, "output");
  await run("wxt", ["build"], {
    env: { ...process.env, MYBA_API_URL: apiUrl, MYBA_OUT_DIR: outDir },
    stdio: ["ignore", "ignore", "inherit"],
  });
  return join(outDir, "chrome-mv3");
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "myba-e2e-"));
  const cleanup = [() => rmSync(dir, { recursive: true, force: true })];
  let code = 1;
  try {
    const started = Date.now();
    // The build only needs the Worker's URL: build while the Worker starts.
    const workerUrl = `http://127.0.0.1:${await freePort()}`;
    const steps = await Promise.allSettled([
      startWorker(dir, Number(new URL(workerUrl).port)),
      buildExtension(dir, workerUrl),
      startFixtureServer(makeCertificate(dir)),
    ]);
    const [worker, extensionDir, fixtures] = steps.map((step) =>
      step.status === "fulfilled" ? step.value : null,
    );
    if (worker) cleanup.unshift(worker.stop);
    if (fixtures) cleanup.unshift(fixtures.close);
    const failure = steps.find((step) => step.status === "rejected");
    if (failure) throw failure.reason;
    console.log(
      `e2e: Worker ${worker.url}, fixtures on :${fixtures.port}, ready in ${Date.now() - started} ms`,
    );
    const vitest = spawn("vitest", ["run", "--config", "vitest.e2e.config.ts", ...process.argv.slice(2)], {
      stdio: "inherit",
      env: {
        ...process.env,
        E2E_EXTENSION_DIR: extensionDir,
        E2E_FIXTURE_PORT: String(fixtures.port),
        E2E_WORKER_URL: worker.url,
      },
    });
    code = await new Promise((resolve) => vitest.on("exit", (c) => resolve(c ?? 1)));
    if (code !== 0 && process.env.E2E_WORKER_LOG) console.log(worker.log());
  } catch (err) {
    console.error(err);
  } finally {
    for (const step of cleanup) await step();
  }
  process.exit(code);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
