import { defineConfig } from "vitest/config";

// End-to-end tests: a real `lookout serve` (temporary data dir, free loopback port) and
// Debian's headless Chromium driven by playwright-core. See e2e/README in web/README.md.
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    environment: "node",
    globalSetup: ["e2e/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    pool: "forks",
  },
});
