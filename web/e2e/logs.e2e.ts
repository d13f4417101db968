// The Logs page in real headless Chromium against its own `lookout serve`, fed with an
// access log (4 minutes of steady traffic, longer than the detectors' warm-up, on two virtual hosts, then, written live, a burst
// of 500s on one route and one client flooding the site) and an application log whose
// last lines are a message shape not seen before.

import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openBrowser, type Browser } from "./browser";

const skip = inject("skip");
const chromium = inject("chromium");
const binary = inject("lookoutBin");

const HISTORY_SECONDS = 240;
const ROUTES = ["/", "/products/123", "/api/orders", "/api/cart"];
const FLOODER = "203.0.113.99";
const FAILING_ROUTE = "/api/orders";
const NEW_SHAPE_LINES = 7;

let browser: Browser;
let child: ChildProcess;
let dir: string;
let base = "";
let appender: ReturnType<typeof setInterval> | undefined;
/** The sources' names (`log` label), as the server numbers them. */
let accessLog = "";
let appLog = "";

function freePort(): Promise<number> {
  return new Promise((ok) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => ok(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function accessTime(ms: number): string {
  const d = new Date(ms);
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** One second of traffic: 20 clients once each on shop.example's routes, two on
 *  static.example; during the incident, 30 requests of the failing route answered 500
 *  slowly and 100 requests from one client. */
function second(sec: number, incident: boolean): string[] {
  const requests: [string, string, number, number, string][] = [];
  for (let c = 1; c <= 20; c++) requests.push([`192.0.2.${c}`, ROUTES[(c + sec) % ROUTES.length], 200, 0.02 + ((c * 7 + sec * 3) % 11) * 0.004, "shop.example"]);
  for (let c = 1; c <= 2; c++) requests.push([`198.51.100.${c}`, "/logo.png", 200, 0.005, "static.example"]);
  if (incident) {
    for (let i = 0; i < 30; i++) requests.push([`192.0.2.${1 + (i % 20)}`, FAILING_ROUTE, 500, 1.5, "shop.example"]);
    for (let i = 0; i < 100; i++) requests.push([FLOODER, `/search?q=shoes${i}`, 200, 0.03, "shop.example"]);
  }
  return requests.map(([client, target, status, time, host], i) =>
    `${client} [${accessTime(sec * 1000 + Math.floor((i * 1000) / requests.length))}] "GET ${target} HTTP/1.1" ${status} 512 ${time.toFixed(3)} ${host}`,
  );
}

async function api<T>(path: string): Promise<T | undefined> {
  const response = await fetch(`${base}${path}`);
  if (!response.ok) return undefined;
  return ((await response.json()) as { data: T }).data;
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface EventLike {
  id: number;
  kind: string;
  entity: Record<string, string>;
}

const eventsOf = async (kind: string) => (await api<{ events: EventLike[] }>(`/api/v1/events?from=now-1h&kind=${kind}`))?.events ?? [];

describe.skipIf(skip !== "")("logs page", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lookout-logs-e2e-"));
    const now = Math.floor(Date.now() / 1000);
    const history: string[] = [];
    for (let sec = now - HISTORY_SECONDS; sec < now; sec++) history.push(...second(sec, false));
    const access = join(dir, "access.log");
    writeFileSync(access, history.join("\n") + "\n");
    const app: string[] = [];
    for (let i = 0; i < 40; i++) {
      app.push(i % 2 ? `INFO request handled in ${10 + i} ms for user ${4000 + i}` : `INFO cache refreshed with ${100 + i} entries`);
    }
    for (let i = 0; i < NEW_SHAPE_LINES; i++) app.push(`ERROR database connection lost to 10.0.0.${7 + i}:5432 after ${i + 1} retries`);
    writeFileSync(join(dir, "app.log"), app.join("\n") + "\n");
    writeFileSync(
      join(dir, "lookout.toml"),
      `[[source]]\ntype = "access_log"\npath = "${access}"\nread_from = "beginning"\ninterval = "1s"\n` +
        `format = '$remote_addr [$time_local] "$request" $status $body_bytes_sent $request_time $host'\n` +
        `[[source]]\ntype = "log"\npath = "${dir}/app.log"\nread_from = "beginning"\nformat = "plain"\ninterval = "1s"\nwarmup = 20\n`,
    );
    const port = await freePort();
    child = spawn(binary, ["serve", "--config", join(dir, "lookout.toml"), "--listen", `127.0.0.1:${port}`, "--data-dir", join(dir, "data")], { stdio: "ignore" });
    base = `http://127.0.0.1:${port}`;
    await waitFor("the server", async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined));
    // The incident starts now and lasts until the end of the test: each second's lines
    // are written as the second begins.
    let written = Math.floor(Date.now() / 1000);
    const write = () => {
      const current = Math.floor(Date.now() / 1000);
      for (; written <= current; written++) appendFileSync(access, second(written, true).join("\n") + "\n");
    };
    write();
    appender = setInterval(write, 200);
    await waitFor("the route and flood events", async () => ((await eventsOf("route_failing")).length && (await eventsOf("client_flood")).length ? true : undefined));
    await waitFor("the new pattern's event", async () => ((await eventsOf("new_log_pattern")).length ? true : undefined));
    const sources = (await api<string[]>("/api/v1/label/log/values")) ?? [];
    accessLog = sources.find((s) => s.startsWith("access_log#")) ?? "";
    appLog = sources.find((s) => s.startsWith("log#")) ?? "";
    expect([accessLog, appLog].every(Boolean), sources.join(", ")).toBe(true);
    await waitFor("an anomaly of the p99 request time", async () => {
      const match = encodeURIComponent(`log_http_request_duration_seconds{log="${accessLog}",vhost="shop.example",quantile="0.99"}`);
      const anomalies = await api<unknown[]>(`/api/v1/anomalies?from=now-1h&to=now&match=${match}`);
      return anomalies?.length ? true : undefined;
    });
    browser = await openBrowser(chromium);
  }, 180_000);

  afterAll(async () => {
    clearInterval(appender);
    await browser?.close();
    child?.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("shows an access log's requests, latency, routes, clients and events", async () => {
    const { page } = browser;
    await page.goto(`${base}/logs`);
    await page.waitForSelector("[data-testid=routes]");
    expect(await page.$eval("select[data-filter=log]", (s) => (s as HTMLSelectElement).value)).toBe(accessLog);
    const vhosts = await page.$$eval("select[data-filter=vhost] option", (options) => options.map((o) => (o as HTMLOptionElement).value));
    expect(vhosts).toEqual(["shop.example", "static.example"]);
    expect(await page.$eval("select[data-filter=vhost]", (s) => (s as HTMLSelectElement).value)).toBe("shop.example");

    // Charts drawn: status classes (2xx and 5xx) and the three latency quantiles.
    const status = await page.$eval("[data-testid=status-chart] [data-testid=lines-chart]", (el) => ({ points: Number((el as HTMLElement).dataset.points), series: (el as HTMLElement).dataset.series }));
    expect(status.points).toBeGreaterThan(30);
    expect(status.series?.split(",")).toEqual(expect.arrayContaining(["2xx", "5xx"]));
    const quantiles = await page.$$eval("[data-testid=latency] [data-quantile]", (panels) =>
      panels.map((p) => {
        const chart = p.querySelector<HTMLElement>("[data-testid=chart]")!.dataset;
        return { quantile: (p as HTMLElement).dataset.quantile, points: Number(chart.points), band: Number(chart.band), markers: Number(chart.markers) };
      }),
    );
    expect(quantiles.map((q) => q.quantile)).toEqual(["0.5", "0.95", "0.99"]);
    for (const q of quantiles) {
      expect(q.points).toBeGreaterThan(30);
      // The engine's expected band, once it has learnt the series.
      expect(q.band).toBeGreaterThan(10);
    }
    // The incident's slow 500s are anomalies of the tail quantiles: markers and chips.
    for (const q of quantiles.filter((q) => q.quantile !== "0.5")) expect(q.markers, `p${q.quantile}`).toBeGreaterThan(0);
    expect(await page.$$("[data-testid=latency] [data-quantile='0.99'] .anomaly-chips a")).not.toHaveLength(0);
    expect(await page.$$("[data-testid=latency] .chart-main canvas")).toHaveLength(3);

    // Top routes: the flooded search, new, then the failing route at 35 requests/s
    // against 5 usually, mostly 500s.
    const cells = (selector: string) =>
      page.$eval(selector, (row) => {
        const out: Record<string, string> = { class: row.className };
        for (const td of row.querySelectorAll("td[data-col]")) out[(td as HTMLElement).dataset.col!] = td.textContent ?? "";
        return out;
      });
    const order = await page.$$eval("[data-testid=routes] tbody tr", (rows) => rows.map((row) => (row as HTMLElement).dataset.route));
    expect(order.slice(0, 2)).toEqual(["/search", FAILING_ROUTE]);
    const search = await cells(`[data-testid=routes] tr[data-route="/search"]`);
    expect(search).toMatchObject({ now: "100", normal: "0", change: "new" });
    const route = await cells(`[data-testid=routes] tr[data-route="${FAILING_ROUTE}"]`);
    expect(Number(route.now)).toBe(35);
    expect(Number(route.normal)).toBe(5);
    expect(route["errors-now"]).toBe("86 %");
    expect(route["errors-normal"]).toBe("0 %");
    expect(route.class).toContain("unusual");
    const home = await cells(`[data-testid=routes] tr[data-route="/"]`);
    expect(home.class).not.toContain("unusual");
    expect(await page.$("[data-testid=routes] tr[data-route='/logo.png']")).toBeNull();

    // The flooding client tops the clients: 100 requests/s, where the heaviest clients
    // the log reported sent 1.
    const client = await page.$eval("[data-testid=clients] tbody tr", (row) => (row as HTMLElement).dataset.client);
    expect(client).toBe(FLOODER);
    const flood = await cells(`[data-testid=clients] tr[data-client="${FLOODER}"]`);
    expect(Number(flood.now)).toBe(100);
    expect(flood.normal).toBe("1");
    expect(flood.change).toBe("×100");
    expect(flood.class).toContain("unusual");

    // The events of the incident, with their evidence.
    const kinds = await page.$$eval("[data-testid=log-events] td[data-kind]", (tds) => tds.map((td) => (td as HTMLElement).dataset.kind));
    expect(kinds).toEqual(expect.arrayContaining(["route_failing", "client_flood", "error_rate_spike"]));
    await page.click("[data-testid=log-events] td[data-kind=route_failing]");
    await page.waitForFunction(() => document.querySelector("[data-testid=event-detail] h2")?.textContent?.startsWith("route_failing"));
    const evidence = await page.textContent("[data-testid=evidence]");
    expect(evidence).toContain("errors");
    expect(evidence).toContain("before_ratio");
    expect(await page.textContent("[data-testid=examples]")).toContain(`GET ${FAILING_ROUTE} HTTP/1.1" 500`);
    await browser.screenshot("logs-access");
    expect(browser.errors).toEqual([]);
  });

  it("shows an application log's patterns, with the new one's count and event", async () => {
    const { page } = browser;
    await waitFor("the new pattern's count", async () => {
      const answer = await api<{ patterns: { template: string; lines: number | null }[] }>(`/api/v1/logs/patterns?log=${encodeURIComponent(appLog)}`);
      return answer?.patterns.some((p) => p.template.includes("database connection lost") && p.lines === NEW_SHAPE_LINES) ? true : undefined;
    });
    await page.goto(`${base}/logs`);
    await page.waitForSelector("select[data-filter=log]");
    await page.selectOption("select[data-filter=log]", appLog);
    await page.waitForSelector("[data-testid=patterns]");
    expect(await page.$("select[data-filter=vhost]")).toBeNull();
    expect(await page.$("[data-testid=status-chart]")).toBeNull();
    const rows = await page.$$eval("[data-testid=patterns] tbody tr", (trs) =>
      trs.map((tr) => ({
        template: tr.querySelector("[data-col=template]")?.textContent ?? "",
        lines: tr.querySelector("[data-col=lines]")?.textContent ?? "",
        firstSeen: tr.querySelector("[data-col=first-seen]")?.textContent ?? "",
        news: [...tr.querySelectorAll<HTMLElement>("button[data-event-kind]")].map((b) => b.dataset.eventKind),
      })),
    );
    const lost = rows.find((r) => r.template.includes("database connection lost"));
    expect(lost, JSON.stringify(rows)).toBeDefined();
    expect(lost!.lines).toBe(String(NEW_SHAPE_LINES));
    expect(lost!.firstSeen).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(lost!.news).toEqual(["new_log_pattern"]);
    expect(rows.filter((r) => r.template.startsWith("INFO"))).toHaveLength(2);
    expect(rows.find((r) => r.template.startsWith("INFO"))!.news).toEqual([]);
    // The pattern's event opens its evidence: the template, its lines, the log lines.
    await page.click("[data-testid=patterns] button[data-event-kind=new_log_pattern]");
    await page.waitForFunction(() => document.querySelector("[data-testid=event-detail] h2")?.textContent?.startsWith("new_log_pattern"));
    const evidence = await page.textContent("[data-testid=evidence]");
    expect(evidence).toContain("database connection lost");
    expect(evidence).toContain(`lines${NEW_SHAPE_LINES}`);
    expect(await page.textContent("[data-testid=examples]")).toContain("ERROR database connection lost to 10.0.0.7:5432");
    expect(await page.$("[data-testid=log-events] td[data-kind=new_log_pattern]")).not.toBeNull();
    await browser.screenshot("logs-patterns");
    expect(browser.errors).toEqual([]);
  });
});
