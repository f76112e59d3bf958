import { defineConfig } from "vitest/config";

// End-to-end tests in real Chromium; `npm run test:e2e` (scripts/e2e.mjs)
// starts what they need. One browser at a time: the machine has two cores.
export default defineConfig({
  test: {
    name: "e2e",
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
