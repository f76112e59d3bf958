import type { D1Migration } from "cloudflare:test";
import type { Env as WorkerEnv } from "../../worker/env";

// Test-only bindings (vitest.config.ts); declared on both so DO types match (docs/toolchain.md).
declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS: D1Migration[];
      MYBA_TEST_LOGS: string;
    }
  }
  interface Env extends WorkerEnv {
    TEST_MIGRATIONS: D1Migration[];
    MYBA_TEST_LOGS: string;
  }
}
