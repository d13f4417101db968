// Dashboard benchmarks in headless Chromium (a script, not a timed test):
//  1. first render of the overview with 500 series (50 machines x 10 metrics): time from
//     navigation start to the rendered machine table;
//  2. a 100,000-point chart: time from the start of the uPlot construction to the end of
//     its first draw ("chart-draw" measure), fetch of the points measured apart.
// Usage: npm run bench   (LOOKOUT_BIN=path to use a given binary; default target/release
// or target/debug lookout, built with `cargo build -p lookout` when neither exists).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const repo = resolve(import.meta.dirname, "../..");
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const RUNS = 5;

function binary() {
  if (process.env.LOOKOUT_BIN) return process.env.LOOKOUT_BIN;
  const target = process.env.CARGO_TARGET_DIR ? resolve(repo, process.env.CARGO_TARGET_DIR) : join(repo, "target");
  for (const profile of ["release", "debug"]) if (existsSync(join(target, profile, "lookout"))) return join(target, profile, "lookout");
  if (spawnSync("cargo", ["build", "-p", "lookout"], { cwd: repo, stdio: "inherit" }).status !== 0) throw new Error("cargo build failed");
  return join(target, "debug", "lookout");
}

const port = await new Promise((ok) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => ok(p));
  });
});
const base = `http://127.0.0.1:${port}`;
const dir = mkdtempSync(join(tmpdir(), "lookout-web-bench-"));
const bin = binary();
const server = spawn(bin, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", join(dir, "data")], { stdio: "inherit" });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function push(samples) {
  for (let i = 0; i < samples.length; i += 5000) {
    const r = await fetch(`${base}/api/v1/samples`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(samples.slice(i, i + 5000)) });
    if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
  }
}

let context;
try {
  for (let i = 0; i < 300; i++) {
    if ((await fetch(`${base}/readyz`).catch(() => null))?.ok) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const now = Date.now();
  const metrics = ["cpu_usage_percent", "load1", "memory_used_percent", "swap_used_percent", "disk_used_percent", "disk_io_bytes", "network_receive_bytes", "network_transmit_bytes", "network_packets", "tcp_connections"];
  const fleet = [];
  for (let m = 0; m < 50; m++)
    for (const name of metrics)
      for (let k = 0; k < 60; k++) fleet.push({ name, labels: { host: `host-${String(m).padStart(2, "0")}` }, timestamp: now - (60 - k) * 1000, value: 50 + Math.sin(k / 5 + m) * 10 });
  await push(fleet);
  const dense = [];
  const start = now - 100_000 * 800;
  for (let k = 0; k < 100_000; k++) dense.push({ name: "bench_dense", labels: { host: "bench" }, timestamp: start + k * 800, value: 100 + Math.sin(k / 300) * 20 + ((k * 7919) % 13) });
  await push(dense);
  const series = (await (await fetch(`${base}/api/v1/overview`)).json()).data.totals.series;

  const profile = mkdtempSync(join(tmpdir(), "lookout-bench-chromium-"));
  context = await chromium.launchPersistentContext(profile, { executablePath: process.env.LOOKOUT_CHROMIUM ?? "/usr/bin/chromium", headless: true, args: FLAGS, viewport: { width: 1400, height: 900 } });
  const page = context.pages()[0] ?? (await context.newPage());

  const overview = [];
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${base}/`);
    await page.waitForSelector("body[data-overview=ready]");
    overview.push(await page.evaluate(() => performance.now()));
  }

  const draws = [];
  const fetches = [];
  let drawn = 0;
  for (let i = 0; i < RUNS; i++) {
    const range = `${start - 1000}..${now}`;
    await page.goto(`${base}/series?match=bench_dense&range=${range}&points=100000`);
    await page.waitForFunction(() => performance.getEntriesByName("chart-draw").length > 0, null, { timeout: 60_000 });
    const result = await page.evaluate(() => {
      const draw = performance.getEntriesByName("chart-draw")[0];
      const fetchEntry = performance.getEntriesByType("resource").find((e) => e.name.includes("/api/v1/chart"));
      return { draw: draw.duration, points: draw.detail.points, fetch: fetchEntry ? fetchEntry.duration : NaN };
    });
    draws.push(result.draw);
    fetches.push(result.fetch);
    drawn = result.points;
  }
  console.log(`\nlookout binary: ${bin}`);
  console.log(`overview first render, ${series} series (50 machines): median ${median(overview).toFixed(0)} ms from navigation start (runs: ${overview.map((x) => x.toFixed(0)).join(", ")}); target <= 1000 ms`);
  console.log(`chart of ${drawn} points: first draw median ${median(draws).toFixed(1)} ms (runs: ${draws.map((x) => x.toFixed(1)).join(", ")}); target <= 200 ms`);
  console.log(`  fetching those points from /api/v1/chart: median ${median(fetches).toFixed(0)} ms`);
  rmSync(profile, { recursive: true, force: true });
} finally {
  await context?.close();
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
  rmSync(dir, { recursive: true, force: true });
}
