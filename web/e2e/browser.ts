// Debian's Chromium driven by playwright-core (never Playwright's own browser download),
// with a fresh profile; every console error and page error is collected.

import { chromium as playwright, type BrowserContext, type Page } from "playwright-core";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export const RESULTS = resolve(__dirname, "../test-results");

export interface Browser {
  context: BrowserContext;
  page: Page;
  errors: string[];
  close(): Promise<void>;
  screenshot(name: string): Promise<string>;
}

export async function openBrowser(executablePath: string, viewport = { width: 1400, height: 900 }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "lookout-chromium-"));
  const context = await playwright.launchPersistentContext(profile, { executablePath, headless: true, args: FLAGS, viewport });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`page: ${error.message}`));
  mkdirSync(RESULTS, { recursive: true });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
    async screenshot(name: string) {
      const path = join(RESULTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
  };
}

/** Sends samples through POST /api/v1/samples; fails with the server's message. */
export async function push(base: string, samples: { name: string; labels: Record<string, string>; timestamp: number; value: number }[]): Promise<void> {
  for (let i = 0; i < samples.length; i += 2000) {
    const response = await fetch(`${base}/api/v1/samples`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(samples.slice(i, i + 2000)),
    });
    if (!response.ok) throw new Error(`POST /api/v1/samples: ${response.status} ${await response.text()}`);
  }
}

/** A steady noisy signal (deterministic: seeded LCG). */
export function noisy(seed: number, n: number, level: number, spread: number): number[] {
  let state = BigInt(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    state = (state * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    out.push(level + (Number(state >> 33n) / 2 ** 31 - 0.5) * spread);
  }
  return out;
}
