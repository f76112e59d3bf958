// `npm run dev:worker -- <wrangler dev args>`: local migrations, then wrangler dev.
import { ensureDevVars, migrateLocal, run } from "./lib.mjs";

const args = process.argv.slice(2);
const persist = args.find((a) => a.startsWith("--persist-to"));
const persistArgs = persist
  ? persist.includes("=")
    ? [persist]
    : [persist, args[args.indexOf(persist) + 1]]
  : [];

ensureDevVars();
await migrateLocal(persistArgs);
await run("wrangler", ["dev", ...args]);
