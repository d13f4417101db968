// The dashboard in real headless Chromium against a real `lookout serve`.

import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { noisy, openBrowser, push, type Browser } from "./browser";

const base = inject("baseUrl");
const skip = inject("skip");
const chromium = inject("chromium");

const HISTORY = 400;
let browser: Browser;
let lastTs = 0;

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${base}${path}`);
  const body = await response.json();
  if (!response.ok) throw new Error(`${path}: ${JSON.stringify(body)}`);
  return body.data as T;
}

describe.skipIf(skip !== "")("dashboard", () => {
  beforeAll(async () => {
    // Two machines with CPU, memory and network series, and a latency series to spike.
    const now = Date.now();
    const start = now - HISTORY * 1000;
    const samples = [];
    for (const [i, host] of ["web-1", "db-1"].entries()) {
      const cpu = noisy(11 + i, HISTORY, 40, 6);
      const mem = noisy(21 + i, HISTORY, 60, 2);
      const net = noisy(31 + i, HISTORY, 5e6, 1e6);
      for (let k = 0; k < HISTORY; k++) {
        const timestamp = start + k * 1000;
        samples.push({ name: "cpu_usage_percent", labels: { host }, timestamp, value: cpu[k] });
        samples.push({ name: "memory_used_percent", labels: { host }, timestamp, value: mem[k] });
        samples.push({ name: "network_receive_bytes", labels: { host }, timestamp, value: net[k] });
      }
    }
    const latency = noisy(42, HISTORY, 10, 1);
    for (let k = 0; k < HISTORY; k++) {
      samples.push({ name: "e2e_latency_ms", labels: { host: "web-1", route: "/login" }, timestamp: start + k * 1000, value: latency[k] });
    }
    lastTs = start + (HISTORY - 1) * 1000;
    await push(base, samples);
    browser = await openBrowser(chromium);
  });

  afterEach(() => {
    const errors = browser.errors.splice(0);
    expect(errors, "no console or page errors").toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("lists the machines on the overview", async () => {
    const { page } = browser;
    await page.goto(`${base}/`);
    await page.waitForSelector("[data-testid=machines-table]");
    const machines = await page.$$eval("tr[data-machine]", (rows) => rows.map((r) => r.getAttribute("data-machine")));
    expect(machines).toEqual(expect.arrayContaining(["web-1", "db-1"]));
    const web = page.locator('tr[data-machine="web-1"]');
    expect(await web.getAttribute("data-status")).toMatch(/normal|anomalous/);
    // Logins and content have no source: shown empty, not as fake zeros.
    const cells = await web.locator("td.domain").allInnerTexts();
    expect(cells).toHaveLength(5);
    expect(cells[3].trim()).toBe("—");
    expect(cells[4].trim()).toBe("—");
    await browser.screenshot("overview");
  });

  it("draws a series chart with the pushed points, then a live anomaly marker within 2 s", async () => {
    const { page } = browser;
    await page.goto(`${base}/series?match=${encodeURIComponent('e2e_latency_ms{host="web-1"}')}&range=15m`);
    const chart = page.locator("[data-testid=chart]");
    await chart.waitFor();
    const points = Number(await chart.getAttribute("data-points"));
    expect(points).toBeGreaterThanOrEqual(HISTORY - 5);
    const markersBefore = Number(await chart.getAttribute("data-markers"));
    await page.waitForSelector("body[data-live=ready]");
    await browser.screenshot("series");

    // A burst far outside the band, pushed through the API after the page loaded.
    const spike = [0, 1, 2, 3, 4].map((k) => ({ name: "e2e_latency_ms", labels: { host: "web-1", route: "/login" }, timestamp: lastTs + (k + 1) * 1000, value: 500 }));
    const pushed = performance.now();
    await push(base, spike);
    await page.waitForFunction(
      (before) => Number(document.querySelector("[data-testid=chart]")?.getAttribute("data-markers")) > before,
      markersBefore,
      { timeout: 2000 },
    );
    const latency = performance.now() - pushed;
    console.log(`live anomaly marker drawn ${latency.toFixed(0)} ms after the push was acknowledged`);
    expect(Number(await chart.getAttribute("data-points"))).toBeGreaterThan(points);
    await page.waitForTimeout(300);
    await browser.screenshot("series-live-anomaly");
  });

  it("marks the anomaly a false positive from the anomaly list", async () => {
    const { page } = browser;
    const anomalies = await api<{ id: number; name: string; status: string }[]>(`/api/v1/anomalies?match=e2e_latency_ms`);
    expect(anomalies.length).toBeGreaterThan(0);
    const id = anomalies[0].id;
    await page.goto(`${base}/anomalies?range=1h`);
    const row = page.locator(`[data-testid=anomaly-row][data-id="${id}"]`);
    await row.waitFor();
    await row.click();
    const detail = page.locator("[data-testid=anomaly-detail]");
    await detail.waitFor();
    await page.locator("[data-testid=anomaly-detail] [data-testid=chart]").waitFor();
    await detail.locator("[data-feedback=false_positive]").click();
    await page.waitForFunction((rowId) => document.querySelector(`[data-testid=anomaly-row][data-id="${rowId}"]`)?.getAttribute("data-status") === "false_positive", id);
    expect(await row.locator("[data-testid=status]").innerText()).toBe("false positive");
    const stored = await api<{ anomaly: { status: string } }>(`/api/v1/anomalies/${id}`);
    expect(stored.anomaly.status).toBe("false_positive");
    await browser.screenshot("anomalies-false-positive");
  });

  it("creates a silence", async (context) => {
    const { page } = browser;
    await page.goto(`${base}/alerts`);
    const openapi = await fetch(`${base}/api/openapi.json`).then((r) => r.json());
    if (!openapi.paths["/api/v1/silences"]?.post) {
      await page.waitForSelector("[data-testid=silences-unavailable]");
      await browser.screenshot("alerts");
      const message = "this server has no POST /api/v1/silences yet; the page shows its empty state";
      console.warn(`SKIPPING silence creation: ${message}`);
      context.skip();
    }
    await page.fill("input[name=matchers]", '{host="web-1"}');
    await page.fill("input[name=author]", "e2e");
    await page.fill("input[name=comment]", "maintenance window for the test");
    await page.click("[data-testid=silence-form] button[type=submit]");
    const row = page.locator("[data-testid=silences-table] tr[data-silence]").filter({ hasText: "maintenance window for the test" });
    await row.waitFor();
    expect(await row.getAttribute("data-state")).toBe("active");
    await browser.screenshot("alerts-silence");
  });

  it("lists events with filters, adds live ones and shows the evidence", async () => {
    const { page } = browser;
    const now = Date.now();
    const event = (host: string, kind: string, severity: string, failures: number) => ({
      timestamp_ms: now - failures * 1000,
      kind,
      domain: kind === "syn_flood" ? "network" : "login",
      severity,
      entity: { host, source_ip: "203.0.113.9" },
      summary: `${failures} findings on ${host}`,
      evidence: { counts: { failures }, fields: { users_tried: "root,admin" }, examples: [`Failed password for root on ${host}`], first_ms: now - 60_000, last_ms: now },
    });
    const post = (events: unknown[]) =>
      fetch(`${base}/api/v1/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(events) }).then(async (r) => {
        expect(r.status, await r.clone().text()).toBe(200);
        return (await r.json()).data as { ids: number[] };
      });
    await post([event("web-1", "ssh_bruteforce", "warning", 37), event("db-1", "syn_flood", "critical", 12)]);
    await page.goto(`${base}/events`);
    await page.waitForSelector("[data-testid=events-table]");
    expect(await page.locator("tr[data-event]").count()).toBe(2);

    await page.selectOption("select[data-filter=severity]", "critical");
    await page.waitForFunction(() => document.querySelectorAll("tr[data-event]").length === 1);
    expect(await page.locator("tr[data-event] td").nth(1).innerText()).toBe("syn_flood");
    await page.selectOption("select[data-filter=severity]", "");
    await page.waitForFunction(() => document.querySelectorAll("tr[data-event]").length === 2);

    // A new event arrives on the live stream without a reload.
    await page.waitForSelector("body[data-live=ready]");
    const { ids } = await post([event("web-2", "ssh_bruteforce", "warning", 5)]);
    await page.waitForSelector(`tr[data-event="${ids[0]}"]`, { timeout: 5000 });

    await page.fill("input[data-filter=entity]", "host=web-2");
    await page.press("input[data-filter=entity]", "Enter");
    await page.waitForFunction(() => document.querySelectorAll("tr[data-event]").length === 1);
    await page.click(`tr[data-event="${ids[0]}"] a`);
    const detail = page.locator("[data-testid=event-detail]");
    await detail.waitFor();
    const evidence = await detail.locator("[data-testid=evidence]").innerText();
    expect(evidence).toContain("failures");
    expect(evidence).toContain("users_tried");
    expect(evidence).toContain("first");
    expect(await detail.locator("[data-testid=examples]").innerText()).toContain("Failed password for root on web-2");
    await browser.screenshot("events");
  });

  it("switches to the light theme and shows the machines page", async () => {
    const { page } = browser;
    await page.goto(`${base}/machines`);
    await page.keyboard.press("t");
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("light");
    await page.waitForSelector("[data-testid=usage-table], [data-testid=machines-empty]");
    await browser.screenshot("machines-light");
    await page.keyboard.press("t");
  });
});
