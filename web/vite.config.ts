import { defineConfig } from "vitest/config";

// The dashboard is served by `lookout serve` at `/`; assets under `/assets/`.
// `npm run dev` proxies the API to a running lookout (LOOKOUT_URL, default :8080).
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      "/api": process.env.LOOKOUT_URL ?? "http://127.0.0.1:8080",
      "/metrics": process.env.LOOKOUT_URL ?? "http://127.0.0.1:8080",
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
