import { describe, expect, it } from "vitest";
import type { EventRecord } from "./events";
import {
  alignSeries,
  change,
  evaluationTime,
  eventsOf,
  intervalGrid,
  isUnusual,
  median,
  nowVsNormal,
  patternsWithEvents,
  sourceKinds,
  STATUS_CLASSES,
  topClients,
  topRoutes,
  type MatrixRow,
  type Pattern,
} from "./logs";
import type { ChartSeries } from "./transform";

function chartSeries(labels: Record<string, string>, t: number[], v: number[]): ChartSeries {
  const nulls = t.map(() => null);
  return { id: 1, key: JSON.stringify(labels), name: "x", labels, resolution: "raw", t, v, score: nulls, lower: nulls, upper: nulls, anomaly: t.map(() => 0) };
}

/** A matrix row with samples at `seconds` (times in s) of the given values. */
function row(metric: Record<string, string>, points: [number, number][]): MatrixRow {
  return { metric, values: points.map(([t, v]) => [t, String(v)]) };
}

let nextId = 1;
function event(kind: string, entity: Record<string, string>, ts: number): EventRecord {
  return { id: nextId++, timestamp_ms: ts, kind, domain: "log", entity, severity: "info", score: null, summary: kind, evidence: {} };
}

describe("logs page", () => {
  it("puts the status classes on one time axis, in class order", () => {
    const cols = alignSeries(
      [chartSeries({ status_class: "5xx" }, [2000, 3000], [1, 9]), chartSeries({ status_class: "2xx" }, [1000, 2000, 3000], [10, 11, 12])],
      "status_class",
      STATUS_CLASSES,
    );
    expect(cols.x).toEqual([1, 2, 3]);
    expect(cols.series.map((s) => s.label)).toEqual(["2xx", "5xx"]);
    expect(cols.series[1].values).toEqual([null, 1, 9]);
  });

  it("rebuilds the interval grid across silent intervals", () => {
    // Intervals of 5 s; nothing was written for the intervals ending at 15 and 20 s.
    const ticks = [row({ vhost: "a" }, [[5, 1], [10, 1], [25, 1]]), row({ vhost: "b" }, [[10, 2]])];
    expect(intervalGrid(ticks)).toEqual([5000, 10000, 15000, 20000, 25000]);
    expect(intervalGrid([row({}, [[7, 1]])])).toEqual([7000]);
    expect(intervalGrid([])).toEqual([]);
  });

  it("takes medians, zero-filled for rates and not for ratios", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBe(0);
    const grid = [1000, 2000, 3000, 4000, 5000];
    const rates = nowVsNormal([row({ route: "/a" }, [[1, 4], [2, 4], [5, 40]])], "route", grid, 0);
    expect(rates[0]).toMatchObject({ key: "/a", now: 40, normal: 4 });
    const sporadic = nowVsNormal([row({ route: "/b" }, [[5, 9]])], "route", grid, 0);
    // Intervals without a sample count as no requests.
    expect(sporadic[0]).toMatchObject({ now: 9, normal: 0 });
    const ratios = nowVsNormal([row({ route: "/b" }, [[2, 0.5], [3, 0.1], [4, 0.2]])], "route", grid, null);
    expect(ratios[0]).toMatchObject({ now: null, normal: 0.2 });
  });

  it("ranks routes by their last interval, with their 5xx share, and clients too", () => {
    const grid = [1000, 2000, 3000];
    const requests = [
      row({ route: "/api/orders" }, [[1, 2], [2, 2], [3, 30]]),
      row({ route: "/" }, [[1, 5], [2, 5], [3, 5]]),
      row({ route: "/old" }, [[0.5, 1]]),
    ];
    const errors = [row({ route: "/api/orders" }, [[1, 0], [2, 0], [3, 0.9]]), row({ route: "/" }, [[1, 0], [2, 0], [3, 0]])];
    const routes = topRoutes(requests, errors, grid);
    expect(routes.map((r) => r.route)).toEqual(["/api/orders", "/"]);
    expect(routes[0]).toEqual({ route: "/api/orders", now: 30, normal: 2, errorsNow: 0.9, errorsNormal: 0 });
    // Reports of the heaviest clients: a client missing from one sent at most the
    // lightest reported; an interval without reports counts as none.
    const clients = topClients(
      [
        row({ client: "203.0.113.99" }, [[4, 80]]),
        row({ client: "192.0.2.1" }, [[2, 2], [3, 2], [4, 3]]),
        row({ client: "192.0.2.2" }, [[2, 1], [3, 1]]),
      ],
      [1000, 2000, 3000, 4000],
    );
    expect(clients.map((c) => [c.key, c.now, c.normal])).toEqual([["203.0.113.99", 80, 1], ["192.0.2.1", 3, 2]]);
  });

  it("says how far now is from normal", () => {
    expect(change(30, 2)).toBe("×15");
    expect(change(3, 2)).toBe("×1.5");
    expect(change(3, 0)).toBe("new");
    expect(change(0, 0)).toBe("–");
    expect(change(null, 1)).toBe("–");
    expect(isUnusual(30, 2)).toBe(true);
    expect(isUnusual(5, 2)).toBe(false);
    expect(isUnusual(0.5, 0, 1)).toBe(false);
    expect(isUnusual(0.9, 0, 0.05)).toBe(true);
  });

  it("joins the pattern events to their patterns and keeps a source's events", () => {
    const pattern = (id: string): Pattern => ({ pattern: id, template: `t${id}`, program: "", series: "", lines: 3, first_seen_ms: 0, last_seen_ms: 0 });
    const fresh = event("new_log_pattern", { log: "log#1", pattern: "7" }, 10);
    const spike = event("log_pattern_spike", { log: "log#1", pattern: "7" }, 20);
    const rows = patternsWithEvents([pattern("7"), pattern("8")], [fresh, spike, event("route_failing", { log: "log#1", pattern: "8" }, 5)]);
    expect(rows[0].events.map((e) => e.kind)).toEqual(["log_pattern_spike", "new_log_pattern"]);
    expect(rows[1].events).toEqual([]);
    const failing = event("route_failing", { log: "access_log#0", vhost: "shop", route: "/api" }, 30);
    const other = event("route_failing", { log: "access_log#0", vhost: "static", route: "/" }, 40);
    const flood = event("client_flood", { log: "access_log#0", client: "203.0.113.99" }, 35);
    const elsewhere = event("client_flood", { log: "access_log#1", client: "x" }, 50);
    expect(eventsOf([failing, other, flood, elsewhere], "access_log#0", "shop").map((e) => e.kind)).toEqual(["client_flood", "route_failing"]);
    expect(eventsOf([failing, other, flood], "access_log#0", null)).toHaveLength(3);
  });

  it("knows what a source writes and when the tables are evaluated", () => {
    expect(sourceKinds(["log_http_requests_per_second", "log_http_5xx_ratio"])).toEqual({ http: true, patterns: false });
    expect(sourceKinds(["log_lines_per_second", "log_pattern_lines_per_second"])).toEqual({ http: false, patterns: true });
    expect(evaluationTime(null, 0, 10_000, 10)).toBe(10_000);
    expect(evaluationTime(4_000, 0, 10_000, 10)).toBe(4_010);
    expect(evaluationTime(9_995, 0, 10_000, 10)).toBe(10_000);
  });
});
