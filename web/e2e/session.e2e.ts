// Sign-in in real headless Chromium against its own `lookout serve` with [auth] on:
// the dashboard's API calls answer 401, the sign-in form takes a token, the session
// cookie is HttpOnly and SameSite=Strict, and sign-out brings the form back.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openBrowser, type Browser } from "./browser";

const skip = inject("skip");
const chromium = inject("chromium");
const binary = inject("lookoutBin");

let browser: Browser;
let child: ChildProcess;
let dir: string;
let base = "";
let token = "";

function freePort(): Promise<number> {
  return new Promise((ok) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => ok(typeof address === "object" && address ? address.port : 0));
    });
  });
}

describe.skipIf(skip !== "")("sign-in", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lookout-session-e2e-"));
    const created = spawnSync(binary, ["token", "create", "--name", "ops", "--role", "admin", "--file", join(dir, "tokens")], { encoding: "utf8" });
    expect(created.status, created.stderr).toBe(0);
    token = created.stdout.trim();
    writeFileSync(join(dir, "lookout.toml"), `[auth]\nenabled = true\ntokens_file = "${dir}/tokens"\n`);
    const port = await freePort();
    child = spawn(binary, ["serve", "--config", join(dir, "lookout.toml"), "--listen", `127.0.0.1:${port}`, "--data-dir", join(dir, "data")], { stdio: "ignore" });
    base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    while (!(await fetch(`${base}/readyz`).then((r) => r.ok).catch(() => false))) {
      if (Date.now() > deadline) throw new Error("lookout serve was not ready within 60 s");
      await new Promise((r) => setTimeout(r, 250));
    }
    browser = await openBrowser(chromium);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    child?.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("signs in on 401, keeps the cookie out of scripts, and signs out", async () => {
    const { page, context } = browser;
    await page.goto(`${base}/anomalies`);
    await page.waitForSelector("form.sign-in");
    await page.fill("form.sign-in input[name=token]", "lk_wrong");
    await page.click("form.sign-in button[type=submit]");
    await page.waitForFunction(() => document.querySelector("form.sign-in [role=alert]")?.textContent === "Unknown token.");
    await page.fill("form.sign-in input[name=token]", token);
    await page.click("form.sign-in button[type=submit]");
    await page.waitForSelector("#sign-out:not([hidden])");
    expect(await page.textContent("#sign-out")).toContain("ops");
    expect(await page.$("form.sign-in")).toBeNull();
    const cookies = await context.cookies(base);
    const session = cookies.find((c) => c.name === "lookout_session");
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe("Strict");
    expect(await page.evaluate(() => document.cookie)).not.toContain("lookout_session");
    // A state-changing call from the page carries the CSRF token and is accepted.
    const status = await page.evaluate(async () => {
      const csrf = sessionStorage.getItem("lookout-csrf") ?? "";
      const response = await fetch("/api/v1/anomalies/999999/feedback", { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf }, body: JSON.stringify({ label: "expected" }) });
      const without = await fetch("/api/v1/anomalies/999999/feedback", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ label: "expected" }) });
      return [response.status, without.status];
    });
    expect(status).toEqual([404, 403]);
    await page.click("#sign-out");
    await page.waitForSelector("form.sign-in");
    expect((await context.cookies(base)).find((c) => c.name === "lookout_session")).toBeUndefined();
  }, 60_000);
});
