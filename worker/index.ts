import { app } from "./app";
import { runScheduled } from "./cron";
import type { Env } from "./env";
import { setLogLevel } from "./lib/log";

export type { AppType } from "./app";
export { Wallet } from "./wallet/wallet";

export default {
  fetch(request, env, ctx) {
    setLogLevel(env.LOG_LEVEL);
    return app.fetch(request, env, ctx);
  },
  async scheduled(_controller, env, ctx) {
    setLogLevel(env.LOG_LEVEL);
    ctx.waitUntil(runScheduled(env));
  },
} satisfies ExportedHandler<Env>;
