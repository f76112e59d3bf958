// `npm start`: the product on embedded defaults — local D1 and Durable
// Objects, mock AI without a key, demo billing without Stripe keys.
import { ensureDevVars, migrateLocal, run } from "./lib.mjs";

const apiUrl = process.env.MYBA_API_URL ?? "http://127.0.0.1:8787";

ensureDevVars();
await run("wxt", ["build"], { env: { ...process.env, MYBA_API_URL: apiUrl } });
await migrateLocal();
console.log(`
  MyBA is starting.
    Worker:     ${apiUrl}  (try ${apiUrl}/api/health)
    Extension:  .output/chrome-mv3 — load it in chrome://extensions with
                "Developer mode" on and "Load unpacked".
    Admin:      Authorization: Bearer <ADMIN_TOKEN from .dev.vars>
`);
await run("wrangler", ["dev", "--ip", "127.0.0.1", "--port", "8787"]);
