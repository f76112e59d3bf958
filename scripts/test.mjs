// `npm test`: every check in order, stopping at the first that fails, then one
// closing line with the test counts ("tests: N passed, N failed").
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const reports = mkdtempSync(join(tmpdir(), "myba-test-"));
const json = (name) => [
  "--",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${join(reports, name)}`,
];
const steps = [
  ["typecheck"],
  ["lint"],
  ["lint:firefox"],
  ["test:unit", ...json("unit.json")],
  ["test:e2e", ...json("e2e.json")],
];

let failedStep = null;
for (const [script, ...args] of steps) {
  const r = spawnSync("npm", ["run", script, ...args], { stdio: "inherit" });
  if (r.status !== 0) {
    failedStep = script;
    break;
  }
}

const totals = { passed: 0, failed: 0, skipped: 0 };
for (const name of ["unit.json", "e2e.json"]) {
  const file = join(reports, name);
  if (!existsSync(file)) continue;
  const r = JSON.parse(readFileSync(file, "utf8"));
  totals.passed += r.numPassedTests;
  totals.failed += r.numFailedTests;
  totals.skipped += r.numPendingTests + r.numTodoTests;
}
rmSync(reports, { recursive: true, force: true });

if (failedStep) console.error(`\nnpm test: "${failedStep}" failed`);
console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failedStep || totals.failed ? 1 : 0);
