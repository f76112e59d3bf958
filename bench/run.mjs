// `npm run bench`: runs every bench/*.bench.mjs in turn; each prints its figures.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";

const only = process.argv[2];
const files = readdirSync(new URL(".", import.meta.url))
  .filter((f) => f.endsWith(".bench.mjs") && (!only || f.includes(only)))
  .sort();
let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file} ===`);
  const r = spawnSync(process.execPath, [new URL(file, import.meta.url).pathname], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
if (files.length === 0) console.log("no benchmarks found");
process.exit(failed ? 1 : 0);
