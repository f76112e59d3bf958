// A throwaway local Worker for end-to-end tests and benchmarks: `wrangler dev`
// on a free loopback port with its own temp state, migrations applied, and
// only the variables given here (never the developer's .dev.vars, which may
// hold real keys). Everything it starts, `stop()` ends.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { offlineEnv, run } from "./lib.mjs";

/** A port nobody listens on right now. */
export function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/**
 * @param {object} [options]
 * @param {number} [options.port] where to listen (default: a free port)
 * @param {Record<string, string>} [options.vars] Worker variables and secrets
 * @param {boolean} [options.bundled] serve a bundle built once, so edits to the
 *   sources during a benchmark do not restart the Worker mid-measurement
 * @param {(persist: string) => Promise<void>} [options.seed] runs after the
 *   migrations, before the Worker starts (e.g. `wrangler d1 execute`)
 * @param {(health: object) => string | null} [options.check] a reason to refuse
 *   the Worker once it answers (e.g. it must run on mock AI)
 */
export async function startLocalWorker(options = {}) {
  const dir = mkdtempSync(join(tmpdir(), "myba-worker-"));
  const persist = join(dir, "state");
  const port = options.port ?? (await freePort());
  const quiet = { stdio: ["ignore", "ignore", "inherit"], env: { ...offlineEnv, CI: "true" } };
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    await run("wrangler", ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], quiet);
    await options.seed?.(persist);
  } catch (error) {
    remove();
    throw error;
  }

  const envFile = join(dir, "worker.env");
  writeFileSync(
    envFile,
    Object.entries(options.vars ?? {})
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persist];
  const inspectorPort = await freePort();
  args.push("--inspector-port", String(inspectorPort), "--env-file", envFile);
  args.push("--show-interactive-dev-session=false");
  if (options.bundled) args.push("--config", await bundle(dir));

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
  const stop = () =>
    new Promise((done) => {
      const finish = () => {
        remove();
        done();
      };
      if (child.exitCode !== null) return finish();
      child.once("exit", finish);
      process.kill(-child.pid, "SIGTERM");
      setTimeout(() => child.exitCode === null && process.kill(-child.pid, "SIGKILL"), 5000).unref();
    });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) {
      remove();
      throw new Error(`wrangler dev exited with ${child.exitCode}:\n${log}`);
    }
    const health = await fetch(`${url}/api/health`)
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null);
    if (health) {
      const refusal = options.check?.(health);
      if (refusal) {
        await stop();
        throw new Error(refusal);
      }
      return { url, port, inspectorPort, persist, pid: child.pid, stop, log: () => log };
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not answer on ${url}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Builds the Worker once and returns a config that serves that bundle as is. */
async function bundle(dir) {
  const dist = join(dir, "dist");
  await run("wrangler", ["deploy", "--dry-run", "--outdir", dist], { stdio: "ignore" });
  const config = join(dir, "wrangler.toml");
  writeFileSync(
    config,
    readFileSync("wrangler.toml", "utf8")
      .replace(/^main = .*$/m, `main = ${JSON.stringify(join(dist, "index.js"))}\nno_bundle = true`)
      .replace(/^migrations_dir = .*$/m, `migrations_dir = ${JSON.stringify(resolve("drizzle"))}`),
  );
  return config;
}
