// The Logs page's numbers, from API answers: status-class columns for one chart, the
// interval grid of an access log, top routes and clients in the last interval against
// the median of the hour before, patterns with the events about them, and which events
// belong to a source and virtual host. Pure functions (logs.test.ts).

import type { EventRecord } from "./events";
import type { ChartSeries } from "./transform";

/** One series of a Prometheus matrix answer (times in seconds, values as text). */
export interface MatrixRow {
  metric: Record<string, string>;
  values: [number, string][];
}

export const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/** Domains of the events a log source raises: access-log traffic events, pattern events,
 *  injection attempts found in request lines. */
export const LOG_EVENT_DOMAINS = ["traffic", "log", "content"];
export const PATTERN_EVENT_KINDS = ["new_log_pattern", "log_pattern_spike"];
/** Most intervals a grid holds (an hour of 100 ms intervals). */
const MAX_GRID = 36_000;

/** Columns for a chart of several series on one time axis: x in seconds, one value
 *  column per series (null where a series has no point at that time). */
export interface MultiColumns {
  x: number[];
  series: { label: string; values: (number | null)[] }[];
}

/** The chart answer's series as columns over the union of their times, ordered by `order`
 *  of the `label` (unknown values last, by name). */
export function alignSeries(list: ChartSeries[], label: string, order: string[] = []): MultiColumns {
  const rank = (value: string) => {
    const at = order.indexOf(value);
    return at < 0 ? order.length : at;
  };
  const sorted = [...list].sort((a, b) => {
    const [x, y] = [a.labels[label] ?? "", b.labels[label] ?? ""];
    return rank(x) - rank(y) || x.localeCompare(y);
  });
  const times = [...new Set(sorted.flatMap((s) => s.t))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  return {
    x: times.map((t) => t / 1000),
    series: sorted.map((s) => {
      const values = new Array<number | null>(times.length).fill(null);
      s.t.forEach((t, i) => (values[index.get(t)!] = s.v[i]));
      return { label: s.labels[label] ?? s.key, values };
    }),
  };
}

/** Median of the values (0 for none). */
export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The interval ends (ms) of an access log from the sample times it wrote: from the first
 * to the last, one every interval, the interval being the smallest gap between two
 * times (intervals are aligned, and a silent interval writes nothing, so the times alone
 * would skip it).
 */
export function intervalGrid(matrix: MatrixRow[]): number[] {
  const times = [...new Set(matrix.flatMap((row) => row.values.map(([t]) => Math.round(t * 1000))))].sort((a, b) => a - b);
  if (times.length < 2) return times;
  let step = Infinity;
  for (let i = 1; i < times.length; i++) step = Math.min(step, times[i] - times[i - 1]);
  const grid: number[] = [];
  for (let t = times[times.length - 1]; t >= times[0] && grid.length < MAX_GRID; t -= step) grid.push(t);
  return grid.reverse();
}

export interface NowVsNormal {
  /** The row's value of `label` (a route, a client). */
  key: string;
  labels: Record<string, string>;
  /** The value in the last interval (0, or null for a ratio, when the row had none). */
  now: number | null;
  /** The median over the intervals of the grid. */
  normal: number | null;
}

/** What an interval without a sample of a row counts as: 0 for rates (no requests),
 *  null to leave it out (a ratio of no requests is no ratio), or a value per interval. */
export type Fill = 0 | null | ((t: number) => number | null);

/** Each row's value in the last interval of `grid` against its median over the grid. */
export function nowVsNormal(matrix: MatrixRow[], label: string, grid: number[], fill: Fill): NowVsNormal[] {
  const last = grid[grid.length - 1];
  const inGrid = new Set(grid);
  const missing = typeof fill === "function" ? fill : () => fill;
  return matrix.map((row) => {
    const byTime = new Map<number, number>();
    for (const [t, v] of row.values) {
      const ms = Math.round(t * 1000);
      const n = Number(v);
      if (inGrid.has(ms) && Number.isFinite(n)) byTime.set(ms, n);
    }
    const values: number[] = [];
    for (const t of grid) {
      const v = byTime.get(t) ?? missing(t);
      if (v !== null) values.push(v);
    }
    return {
      key: row.metric[label] ?? "",
      labels: row.metric,
      now: byTime.get(last) ?? (last === undefined ? null : missing(last)),
      normal: values.length ? median(values) : null,
    };
  });
}

export interface RouteRow {
  route: string;
  /** Requests per second, last interval and median. */
  now: number;
  normal: number;
  /** Share of 5xx responses, last interval and median of the intervals with requests. */
  errorsNow: number | null;
  errorsNormal: number | null;
}

/** Routes by requests in the last interval, with their 5xx share; the busiest `limit`. */
export function topRoutes(requests: MatrixRow[], errors: MatrixRow[], grid: number[], limit = 10): RouteRow[] {
  const errorRows = new Map(nowVsNormal(errors, "route", grid, null).map((row) => [row.key, row]));
  return nowVsNormal(requests, "route", grid, 0)
    .map((row) => ({
      route: row.key,
      now: row.now ?? 0,
      normal: row.normal ?? 0,
      errorsNow: errorRows.get(row.key)?.now ?? null,
      errorsNormal: errorRows.get(row.key)?.normal ?? null,
    }))
    .filter((row) => row.now > 0 || row.normal > 0)
    .sort((a, b) => b.now - a.now || b.normal - a.normal || a.route.localeCompare(b.route))
    .slice(0, limit);
}

/**
 * The clients reported in the last interval, by requests. A log reports only its heaviest clients each
 * interval, so a client missing from an interval's report sent at most what the lightest
 * reported one did: that bound is its value there (0 in an interval with no report).
 */
export function topClients(clients: MatrixRow[], grid: number[], limit = 10): NowVsNormal[] {
  const lightest = new Map<number, number>();
  for (const row of clients) {
    for (const [t, v] of row.values) {
      const ms = Math.round(t * 1000);
      const n = Number(v);
      if (Number.isFinite(n)) lightest.set(ms, Math.min(n, lightest.get(ms) ?? Infinity));
    }
  }
  const last = grid[grid.length - 1];
  const reported = new Set(clients.filter((row) => row.values.some(([t]) => Math.round(t * 1000) === last)).map((row) => row.metric.client));
  return nowVsNormal(clients, "client", grid, (t) => lightest.get(t) ?? 0)
    .filter((row) => reported.has(row.key) && (row.now ?? 0) > 0)
    .sort((a, b) => (b.now ?? 0) - (a.now ?? 0) || a.key.localeCompare(b.key))
    .slice(0, limit);
}

/** How far `now` is from `normal`, as "×3.2" ("new" when normal is zero). */
export function change(now: number | null, normal: number | null): string {
  if (now === null || normal === null) return "–";
  if (normal === 0) return now === 0 ? "–" : "new";
  return `×${(now / normal).toFixed(now / normal >= 10 ? 0 : 1)}`;
}

/** Whether `now` is well above `normal` (three times, or new, and not a trickle). */
export function isUnusual(now: number | null, normal: number | null, floor = 1): boolean {
  if (now === null || normal === null || now < floor) return false;
  return now >= 3 * normal;
}

/** One pattern of `GET /api/v1/logs/patterns`. */
export interface Pattern {
  pattern: string;
  template: string;
  program: string;
  series: string;
  lines: number | null;
  first_seen_ms: number | null;
  last_seen_ms: number | null;
}

export interface PatternsAnswer {
  start_ms: number;
  end_ms: number;
  total_lines: number | null;
  other_lines: number | null;
  patterns: Pattern[];
}

/** The patterns, each with the pattern events about it (newest first). */
export function patternsWithEvents(patterns: Pattern[], events: EventRecord[]): (Pattern & { events: EventRecord[] })[] {
  const about = new Map<string, EventRecord[]>();
  for (const event of events) {
    const id = event.entity.pattern;
    if (!id || !PATTERN_EVENT_KINDS.includes(event.kind)) continue;
    about.set(id, [...(about.get(id) ?? []), event]);
  }
  return patterns.map((p) => ({
    ...p,
    events: (about.get(p.pattern) ?? []).sort((a, b) => b.timestamp_ms - a.timestamp_ms || b.id - a.id),
  }));
}

/** The events of one source (entity `log`) and virtual host (events naming another
 *  virtual host are left out; those naming none, such as floods of one client, stay),
 *  newest first. */
export function eventsOf(events: EventRecord[], log: string, vhost: string | null): EventRecord[] {
  return events
    .filter((e) => e.entity.log === log && (!vhost || !e.entity.vhost || e.entity.vhost === vhost))
    .sort((a, b) => b.timestamp_ms - a.timestamp_ms || b.id - a.id);
}

/** What a source writes, from its series names: access-log series, pattern series. */
export function sourceKinds(names: string[]): { http: boolean; patterns: boolean } {
  return { http: names.includes("log_http_requests_per_second"), patterns: names.includes("log_pattern_lines_per_second") };
}

/** The time the tables are evaluated at: the end of the range, or just after the last
 *  point the range shows when the log went quiet earlier (`bucketMs`: a point's width). */
export function evaluationTime(lastPointMs: number | null, from: number, to: number, bucketMs: number): number {
  if (lastPointMs === null) return to;
  return Math.max(from, Math.min(to, lastPointMs + Math.max(bucketMs, 1)));
}
