import { app } from "./app";
import type { Env } from "./env";

export type { AppType } from "./app";
export { Wallet } from "./wallet/wallet";

export default {
  fetch: app.fetch,
  async scheduled(_controller, _env, _ctx) {
    // Reconcile and sweep land with the admin issue (#8).
  },
} satisfies ExportedHandler<Env>;
