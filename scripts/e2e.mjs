// `npm run test:e2e`: the extension in real Chromium, and in Firefox ESR when
// it is installed, against the fixture sites and a real local Worker (mock
// AI, dev login). Everything it starts, it stops; every file it writes goes
// to a temp dir (screenshots to .tmp/).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIREFOX_PATH } from "../test/fixtures/firefox.mjs";
import { makeCertificate, startFixtureServer } from "../test/fixtures/server.mjs";
import { run } from "./lib.mjs";
import { freePort, startLocalWorker } from "./local-worker.mjs";

export async function buildExtension(dir, apiUrl, browser = "chrome") {
  const outDir = join(dir, "output");
  await run("wxt", ["build", "-b", browser], {
    // MYBA_TEST_HOSTS: the self-managed GitLab fixture's origin, granted at install so the
    // options page's permission request resolves without the prompt a headless browser cannot click.
    env: {
      ...process.env,
      MYBA_API_URL: apiUrl,
      MYBA_OUT_DIR: outDir,
      MYBA_TEST_HOSTS: "https://gitlab.example.org",
      // WebDriver BiDi cannot open Firefox's extension pages, so the Firefox build
      // records the welcome page's "accept" at install instead (decision 015).
      ...(browser === "firefox" ? { MYBA_TEST_CONSENT: "accepted" } : {}),
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  return join(outDir, `${browser}-mv3`);
}

/**
 * Whether to run the Firefox tests: yes when Firefox is installed. Without
 * it they are skipped, loudly; on CI (CI=true) a missing Firefox is an error.
 */
function firefoxWanted() {
  if (existsSync(FIREFOX_PATH)) return true;
  const message = `${FIREFOX_PATH} not found: the Firefox end-to-end tests (test/e2e/firefox.test.ts) cannot run. Install it with \`apt-get install firefox-esr\`, or point FIREFOX_PATH at a Firefox.`;
  if (process.env.CI === "true") throw new Error(`e2e: ${message}`);
  console.warn(`\n  e2e: SKIPPING FIREFOX. ${message}\n`);
  return false;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "myba-e2e-"));
  const cleanup = [() => rmSync(dir, { recursive: true, force: true })];
  let code = 1;
  try {
    const started = Date.now();
    const firefox = firefoxWanted();
    // The build only needs the Worker's URL: build while the Worker starts.
    // The two targets one after the other: wxt prepares one .wxt dir for both.
    const workerUrl = `http://127.0.0.1:${await freePort()}`;
    const builds = async () => [
      await buildExtension(dir, workerUrl),
      firefox ? await buildExtension(dir, workerUrl, "firefox") : null,
    ];
    const steps = await Promise.allSettled([
      startLocalWorker({
        port: Number(new URL(workerUrl).port),
        vars: { AUTH_DEV_LOGIN: "true", ADMIN_TOKEN: "e2e-admin-token" },
        check: (health) =>
          health.ai === "mock" ? null : `the e2e Worker must run on mock AI, got ${JSON.stringify(health)}`,
      }),
      builds(),
      startFixtureServer(makeCertificate(dir)),
    ]);
    const [worker, extensionDirs, fixtures] = steps.map((step) =>
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
        E2E_EXTENSION_DIR: extensionDirs[0],
        ...(extensionDirs[1] ? { E2E_FIREFOX_EXTENSION_DIR: extensionDirs[1] } : {}),
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
