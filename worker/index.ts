import { runScheduled } from "./admin/cron";
import { app } from "./app";
import type { Env } from "./env";

export type { AppType } from "./app";
export { Wallet } from "./wallet/wallet";

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(runScheduled(env));
  },
} satisfies ExportedHandler<Env>;
