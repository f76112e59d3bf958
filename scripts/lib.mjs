// Shared by the npm scripts: run wrangler and friends offline.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";

/** Keeps wrangler from reaching outside this machine (docs/toolchain.md). */
export const offlineEnv = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_LOG: process.env.WRANGLER_LOG ?? "warn",
};

/** Runs a command to completion; rejects on a non-zero exit. */
export function run(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "inherit", env: offlineEnv, ...options });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}`)),
    );
  });
}

/** Local secrets: `.dev.vars` from the committed example on first run. */
export function ensureDevVars() {
  if (!existsSync(".dev.vars")) {
    copyFileSync(".dev.vars.example", ".dev.vars");
    console.log("Created .dev.vars from .dev.vars.example (dev login and a local admin token).");
  }
}

export async function migrateLocal(extra = []) {
  await run("wrangler", ["d1", "migrations", "apply", "DB", "--local", ...extra]);
}
