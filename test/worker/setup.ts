import { applyD1Migrations, env } from "cloudflare:test";
import { muteLogs } from "../../worker/lib/log";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
muteLogs(!env.MYBA_TEST_LOGS);
