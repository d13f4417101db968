// Starts a real `lookout serve` (default configuration, so this host's own metrics
// arrive every second; temporary data dir; free loopback port) for the
// end-to-end tests, and checks that Debian's Chromium is there.
//
// - The binary: $LOOKOUT_BIN, else `cargo build -p lookout` and
//   $CARGO_TARGET_DIR/debug/lookout (default target/ at the repository root).
// - Chromium: $LOOKOUT_CHROMIUM, else /usr/bin/chromium. Missing: the tests fail under
//   CI=true and are skipped with a message otherwise (tests/peers/install-web.sh installs it).

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    chromium: string;
    lookoutBin: string;
    skip: string;
  }
}

const repo = resolve(__dirname, "../..");

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

function lookoutBinary(): string {
  if (process.env.LOOKOUT_BIN) return process.env.LOOKOUT_BIN;
  const built = spawnSync("cargo", ["build", "-p", "lookout"], { cwd: repo, stdio: "inherit" });
  if (built.status !== 0) throw new Error("`cargo build -p lookout` failed; see its output above");
  const target = process.env.CARGO_TARGET_DIR ? resolve(repo, process.env.CARGO_TARGET_DIR) : join(repo, "target");
  const binary = join(target, "debug", "lookout");
  if (!existsSync(binary)) throw new Error(`no lookout binary at ${binary} after cargo build`);
  return binary;
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`lookout serve exited with ${child.exitCode}:\n${log()}`);
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`lookout serve was not ready within 60 s:\n${log()}`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const chromium = process.env.LOOKOUT_CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(chromium)) {
    const message = `Chromium not found at ${chromium} (install it with tests/peers/install-web.sh)`;
    if (process.env.CI === "true") throw new Error(`${message}; CI=true requires it`);
    console.warn(`SKIPPING the dashboard end-to-end tests: ${message}`);
    project.provide("skip", message);
    project.provide("baseUrl", "");
    project.provide("chromium", chromium);
    project.provide("lookoutBin", "");
    return async () => {};
  }
  const binary = lookoutBinary();
  const dir = mkdtempSync(join(tmpdir(), "lookout-web-e2e-"));
  const port = await freePort();
  let output = "";
  const child = spawn(binary, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", join(dir, "data")], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "warn" } });
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitReady(baseUrl, child, () => output);
  project.provide("baseUrl", baseUrl);
  project.provide("chromium", chromium);
  project.provide("lookoutBin", binary);
  project.provide("skip", "");
  return async () => {
    child.kill("SIGTERM");
    await new Promise<void>((ok) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        ok();
      }, 15_000);
      child.once("exit", () => {
        clearTimeout(timer);
        ok();
      });
    });
    rmSync(dir, { recursive: true, force: true });
  };
}
