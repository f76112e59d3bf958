import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { WxtVitest } from "wxt/testing/vitest-plugin";

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
          silent: "passed-only",
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
