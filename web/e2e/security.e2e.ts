// The Security page in real headless Chromium against its own `lookout serve`, fed with
// an auth log (a brute force from one address, then its successful login) and an access
// log carrying SQL injection, XSS and traversal attempts from two clients.

import { spawn, type ChildProcess } from "node:child_process";
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

function freePort(): Promise<number> {
  return new Promise((ok) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => ok(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function syslogTime(ms: number): string {
  const d = new Date(ms);
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${months[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function accessTime(ms: number): string {
  const d = new Date(ms);
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(skip !== "")("security page", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lookout-security-e2e-"));
    const now = Date.now() - 5_000;
    const auth: string[] = [];
    const users = ["root", "admin", "oracle", "test", "ubuntu", "deploy"];
    for (let i = 0; i < 8; i++) {
      auth.push(`${syslogTime(now + i * 100)} web-1 sshd[${4000 + i}]: Failed password for ${users[i % users.length]} from 203.0.113.50 port ${40000 + i} ssh2`);
    }
    auth.push(`${syslogTime(now + 1_000)} web-1 sshd[4100]: Accepted password for deploy from 203.0.113.50 port 40100 ssh2`);
    writeFileSync(join(dir, "auth.log"), auth.join("\n") + "\n");
    const line = (client: string, target: string, i: number) =>
      `${client} - - [${accessTime(now + i * 100)}] "GET ${target} HTTP/1.1" 200 12 "-" "curl/8"`;
    const access = [
      line("192.0.2.10", "/item?id=3", 0),
      ...[0, 1, 2, 3, 4].map((i) => line("198.51.100.23", `/item?id=1%27%20UNION%20SELECT%20password%20FROM%20users--%20${i}`, i)),
      line("198.51.100.23", "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", 6),
      line("198.51.100.23", "/search?q=%3Csvg%2Fonload%3Dalert(1)%3E", 7),
      ...[0, 1, 2].map((i) => line("198.51.100.24", `/download?file=..%2F..%2F..%2Fetc%2Fpasswd${i}`, 8 + i)),
    ];
    writeFileSync(join(dir, "access.log"), access.join("\n") + "\n");
    writeFileSync(
      join(dir, "lookout.toml"),
      `[[source]]\ntype = "auth_log"\npath = "${dir}/auth.log"\nread_from = "beginning"\n` +
        `[[source]]\ntype = "access_log"\npath = "${dir}/access.log"\nread_from = "beginning"\ninterval = "1s"\ninjection_window = "2s"\n`,
    );
    const port = await freePort();
    child = spawn(binary, ["serve", "--config", join(dir, "lookout.toml"), "--listen", `127.0.0.1:${port}`, "--data-dir", join(dir, "data")], { stdio: "ignore" });
    base = `http://127.0.0.1:${port}`;
    // Both incidents closed and the login incidents stored.
    await waitFor("the injection incidents to close", async () => {
      const answer = await (await fetch(`${base}/api/v1/events?from=now-1h&kind=content_injection`)).json();
      const closed = (answer.data?.events ?? []).filter((e: { evidence: { fields: Record<string, string> } }) => e.evidence.fields.incident === "closed");
      return closed.length >= 2 ? closed : undefined;
    });
    await waitFor("success after failures", async () => {
      const answer = await (await fetch(`${base}/api/v1/events?from=now-1h&kind=ssh_success_after_failures`)).json();
      return (answer.data?.events ?? []).length ? true : undefined;
    });
    browser = await openBrowser(chromium);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    child?.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("shows the attacks with their evidence", async () => {
    const { page } = browser;
    await page.goto(`${base}/security`);
    await page.waitForSelector("[data-testid=injection-clients]");
    const cells = async (client: string) =>
      page.$eval(`th[data-client="${client}"]`, (th) => {
        const row = th.parentElement!;
        const out: Record<string, string> = {};
        for (const td of row.querySelectorAll("td[data-kind]")) out[(td as HTMLElement).dataset.kind!] = td.textContent ?? "";
        out.total = row.querySelector("td[data-total]")?.textContent ?? "";
        return out;
      });
    expect(await cells("198.51.100.23")).toMatchObject({ sqli: "5", xss: "2", total: "7" });
    expect(await cells("198.51.100.24")).toMatchObject({ traversal: "3", total: "3" });
    expect(await page.textContent("[data-testid=kind-sqli] .card-value")).toBe("5");
    const kinds = await page.$$eval("[data-testid=login-incidents] td[data-kind]", (tds) => tds.map((td) => (td as HTMLElement).dataset.kind));
    expect(kinds).toContain("ssh_success_after_failures");
    expect(kinds.some((k) => k?.startsWith("ssh_bruteforce"))).toBe(true);
    expect(await page.textContent("tr[data-user=deploy]")).toContain("logged in after failures");
    expect(await page.$("tr[data-user=root]")).not.toBeNull();
    expect(await page.$("tr[data-ip='203.0.113.50']")).not.toBeNull();
    expect(await page.$("tr[data-ip='198.51.100.23']")).not.toBeNull();
    // An injection incident opens its evidence: the decoded fragment and the log lines.
    await page.click(`th[data-client="198.51.100.23"]`);
    await page.waitForSelector("[data-testid=event-detail]");
    const evidence = await page.textContent("[data-testid=evidence]");
    expect(evidence).toContain("sqli");
    expect(evidence).toContain("closed");
    expect(await page.textContent("[data-testid=examples]")).toContain("198.51.100.23");
    // A login incident too.
    await page.click("[data-testid=login-incidents] td[data-kind=ssh_success_after_failures]");
    await page.waitForFunction(() => document.querySelector("[data-testid=event-detail] h2")?.textContent?.startsWith("ssh_success_after_failures"));
    expect(await page.textContent("[data-testid=evidence]")).toContain("deploy");
    await browser.screenshot("security");
    expect(browser.errors).toEqual([]);
  });
});
