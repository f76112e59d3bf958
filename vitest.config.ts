import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { WxtVitest } from "wxt/testing/vitest-plugin";

/**
 * Wrangler hands a developer's `.dev.vars` to the test Worker too; real keys
 * there would send tests to real services. Every name in it is blanked (the
 * Worker treats an empty value as absent) unless the tests set it below.
 */
const developerVars = existsSync(".dev.vars")
  ? Object.fromEntries(Object.keys(parseEnv(readFileSync(".dev.vars", "utf8"))).map((k) => [k, ""]))
  : {};

export default defineConfig(async () => ({
  test: {
    projects: [
      {
        // Worker tests run inside workerd with real D1 and Durable Objects.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ...developerVars,
                // The Worker's JSON log lines are muted in tests unless this is set.
                MYBA_TEST_LOGS: process.env.MYBA_TEST_LOGS ?? "",
                TEST_MIGRATIONS: await readD1Migrations("drizzle"),
                AUTH_DEV_LOGIN: "true",
                ADMIN_TOKEN: "test-admin-token",
                ALLOWED_ORIGINS: "chrome-extension://ocbanhjklocoagnmjekgklfdibifkcnm",
              },
            },
          }),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          setupFiles: ["test/worker/setup.ts"],
          globalSetup: ["test/fakes/global-setup.ts"],
        },
      },
      {
        plugins: [WxtVitest()],
        test: {
          name: "extension",
          include: ["test/extension/**/*.test.{ts,tsx}"],
          environment: "happy-dom",
        },
      },
    ],
  },
}));
