// Logs: per source (the series' `log` label) and virtual host, the request rate by status
// class, the latency quantiles with their expected bands and anomalies, the top routes
// and clients in the last interval against the median of the hour before, the log
// patterns with their line counts and first-seen times, and the source's recent events,
// each opening its evidence. Data: `/api/v1/label/.../values` (sources, virtual hosts),
// `/api/v1/chart` (status classes, latency), PromQL range selectors at one instant
// (`/api/v1/query`: the raw samples of the hour, for the tables), `/api/v1/logs/patterns`
// and `/api/v1/events`. New events of the source from the live stream reload the page.

import { allEvents, api, get, matrixAt, query } from "../api";
import { LinesChart, SeriesChart } from "../chart";
import { gridTable, h, replace, type Child } from "../dom";
import { entityText, type EventRecord } from "../events";
import { subscribe } from "../live";
import {
  alignSeries,
  change,
  evaluationTime,
  eventsOf,
  intervalGrid,
  isUnusual,
  LOG_EVENT_DOMAINS,
  patternsWithEvents,
  sourceKinds,
  STATUS_CLASSES,
  topClients,
  topRoutes,
  type PatternsAnswer,
} from "../logs";
import { navigate } from "../nav";
import { formatTime, formatValue, isDownsampled, maxPointsFor, parseDuration, quoteLabel, toColumns } from "../transform";
import { detail } from "./events";
import { anomalyList, seriesUrl } from "./series";

const RANGES = ["15m", "1h", "6h", "24h", "7d"];
const STATUS_COLORS: Record<string, string> = { "1xx": "--muted", "2xx": "--ok", "3xx": "--accent", "4xx": "--warn", "5xx": "--bad" };
const QUANTILES: Record<string, string> = { "0.5": "p50", "0.95": "p95", "0.99": "p99" };
/** The window the tables' "normal" is the median of. */
const NORMAL_MS = 3_600_000;

interface Choice {
  log: string;
  vhost: string;
  range: string;
}

function pageUrl(choice: Partial<Choice>, id?: number): string {
  const search = new URLSearchParams();
  if (choice.log) search.set("log", choice.log);
  if (choice.vhost) search.set("vhost", choice.vhost);
  if (choice.range && choice.range !== "1h") search.set("range", choice.range);
  if (id !== undefined) search.set("id", String(id));
  const text = search.toString();
  return text ? `/logs?${text}` : "/logs";
}

const percent = (v: number | null) => (v === null ? "–" : `${(v * 100).toFixed(v > 0 && v < 0.1 ? 1 : 0)} %`);
const rate = (v: number | null) => (v === null ? "–" : formatValue(v));

export function renderLogs(root: HTMLElement, params: URLSearchParams): () => void {
  const range = RANGES.includes(params.get("range") ?? "") ? params.get("range")! : "1h";
  const rangeMs = parseDuration(range) ?? 3_600_000;
  const selected = Number(params.get("id")) || null;
  const choice: Choice = { log: params.get("log") ?? "", vhost: params.get("vhost") ?? "", range };
  const filters = h("form", { class: "filters", "data-testid": "log-filters", onsubmit: (e: Event) => e.preventDefault() });
  const body = h("div", null, h("p", { class: "loading" }, "Loading…"));
  const side = h("div", { class: "side" });
  replace(
    root,
    h("h1", null, "Logs"),
    h("p", { class: "muted" }, "Access logs and application logs: requests, latency, routes and clients against their usual level, log patterns, and the events they raised. A row opens its evidence."),
    filters,
    h("div", { class: "split" }, body, side),
  );

  let stopped = false;
  let charts: { destroy(): void }[] = [];
  const open = (event: EventRecord) => {
    history.replaceState(null, "", pageUrl(choice, event.id));
    replace(side, detail(event));
    for (const row of root.querySelectorAll("tr[data-event]")) row.classList.toggle("selected", Number((row as HTMLElement).dataset.event) === event.id);
  };

  function select(name: keyof Choice, options: string[], label: (v: string) => string = (v) => v): HTMLElement {
    return h(
      "select",
      { "aria-label": name, "data-filter": name, onchange: (e: Event) => navigate(pageUrl({ ...choice, [name]: (e.target as HTMLSelectElement).value, ...(name === "log" ? { vhost: "" } : {}) }), true) },
      options.map((value) => h("option", { value, selected: value === choice[name] ? true : null }, label(value))),
    );
  }

  async function load(): Promise<void> {
    try {
      const sources = await get<string[]>("/api/v1/label/log/values");
      if (stopped) return;
      if (sources.length === 0) {
        replace(filters);
        replace(body, h("section", { class: "empty", "data-testid": "logs-empty" }, h("p", null, "No log source has written series yet: add a [[source]] of type access_log or log.")));
        return;
      }
      if (!sources.includes(choice.log)) choice.log = sources[0];
      const logSelector = `{log=${quoteLabel(choice.log)}}`;
      const names = await get<string[]>(`/api/v1/label/__name__/values${query({ "match[]": logSelector })}`);
      const kinds = sourceKinds(names);
      let vhosts: string[] = [];
      if (kinds.http) {
        vhosts = await get<string[]>(`/api/v1/label/vhost/values${query({ "match[]": `log_http_requests_per_second${logSelector}` })}`);
        if (!vhosts.includes(choice.vhost)) choice.vhost = vhosts[0] ?? "";
      } else {
        choice.vhost = "";
      }
      if (stopped) return;
      replace(
        filters,
        select("log", sources),
        kinds.http ? select("vhost", vhosts, (v) => (v === "_" ? "_ (no virtual host)" : v)) : null,
        select("range", RANGES, (v) => `last ${v}`),
      );
      const end = Date.now();
      const start = end - rangeMs;
      const [events, http, patterns] = await Promise.all([
        allEvents({ from: `now-${range}`, domain: LOG_EVENT_DOMAINS.join(","), "match[]": logSelector }),
        kinds.http ? loadHttp(start, end) : Promise.resolve(null),
        kinds.patterns ? get<PatternsAnswer>(`/api/v1/logs/patterns${query({ log: choice.log, start: start / 1000, end: end / 1000 })}`) : Promise.resolve(null),
      ]);
      if (stopped) return;
      draw(eventsOf(events, choice.log, choice.vhost || null), http, patterns, kinds, start, end);
      const chosen = selected ? events.find((e) => e.id === selected) : undefined;
      if (chosen) open(chosen);
    } catch (error) {
      replace(body, h("p", { class: "error", role: "alert" }, (error as Error).message));
    }
  }

  async function loadHttp(start: number, end: number) {
    const scope = `{log=${quoteLabel(choice.log)},vhost=${quoteLabel(choice.vhost)}}`;
    const points = maxPointsFor(body.clientWidth || 1000);
    const [status, latency] = await Promise.all([
      api.chart({ match: `log_http_requests_by_status_per_second${scope}`, start, end, max_points: points, limit: 10 }),
      api.chart({ match: `log_http_request_duration_seconds${scope}`, start, end, max_points: points, limit: 10 }),
    ]);
    const lastPoint = Math.max(-Infinity, ...status.series.map((s) => s.t[s.t.length - 1] ?? -Infinity));
    const at = evaluationTime(Number.isFinite(lastPoint) ? lastPoint : null, start, end, (end - start) / points);
    const window = `[${NORMAL_MS / 1000}s]`;
    const logScope = `{log=${quoteLabel(choice.log)}}`;
    const [ticks, routes, routeErrors, clients] = await Promise.all([
      matrixAt(`log_http_requests_per_second${logScope}${window}`, at),
      matrixAt(`log_http_route_requests_per_second${scope}${window}`, at),
      matrixAt(`log_http_route_5xx_ratio${scope}${window}`, at),
      matrixAt(`log_http_client_requests_per_second${logScope}${window}`, at),
    ]);
    const grid = intervalGrid(ticks);
    return { status, latency, grid, routes: topRoutes(routes, routeErrors, grid), clients: topClients(clients, grid) };
  }

  function draw(
    events: EventRecord[],
    http: Awaited<ReturnType<typeof loadHttp>> | null,
    patterns: PatternsAnswer | null,
    kinds: { http: boolean; patterns: boolean },
    start: number,
    end: number,
  ): void {
    for (const chart of charts) chart.destroy();
    charts = [];
    const sections: Child[] = [];
    // Charts measure their parent: drawn once the sections are in the page.
    const later: (() => void)[] = [];
    if (http) {
      const lastInterval = http.grid[http.grid.length - 1];
      const statusEl = h("div", { class: "panel", "data-testid": "status-chart" });
      const latencyEl = h("div", { class: "panels", "data-testid": "latency" });
      const vs = lastInterval === undefined ? "" : `last interval (ending ${formatTime(lastInterval)}) against the median of the ${http.grid.length} intervals of the hour before`;
      sections.push(
        h("h2", null, "Requests per second by status class"),
        statusEl,
        h("h2", null, "Latency (request time, seconds)"),
        latencyEl,
        h("h2", null, "Top routes"),
        gridTable(
          "routes",
          ["Route", "Requests/s now", "Usual", "Change", "5xx now", "5xx usual"],
          http.routes.map((r) =>
            h(
              "tr",
              { "data-route": r.route, class: isUnusual(r.now, r.normal) || isUnusual(r.errorsNow, r.errorsNormal, 0.05) ? "unusual" : null },
              h("th", { scope: "row" }, h("a", { href: seriesUrl(`log_http_route_requests_per_second{log=${quoteLabel(choice.log)},vhost=${quoteLabel(choice.vhost)},route=${quoteLabel(r.route)}}`, range), "data-nav": true }, r.route)),
              h("td", { class: "num", "data-col": "now" }, rate(r.now)),
              h("td", { class: "num", "data-col": "normal" }, rate(r.normal)),
              h("td", { class: "num", "data-col": "change" }, change(r.now, r.normal)),
              h("td", { class: "num", "data-col": "errors-now" }, percent(r.errorsNow)),
              h("td", { class: "num", "data-col": "errors-normal" }, percent(r.errorsNormal)),
            ),
          ),
          "No request in the hour before the end of the range.",
          vs,
        ),
        h("h2", null, "Top clients"),
        gridTable(
          "clients",
          ["Client", "Requests/s now", "Usual", "Change"],
          http.clients.map((c) =>
            h(
              "tr",
              { "data-client": c.key, class: isUnusual(c.now, c.normal) ? "unusual" : null },
              h("th", { scope: "row" }, c.key),
              h("td", { class: "num", "data-col": "now" }, rate(c.now)),
              h("td", { class: "num", "data-col": "normal" }, rate(c.normal)),
              h("td", { class: "num", "data-col": "change" }, change(c.now, c.normal)),
            ),
          ),
          "No client in the last interval.",
          vs ? `${vs}; the log reports its heaviest clients each interval (estimates, upper bounds)` : undefined,
        ),
      );
      later.push(() => {
        const cols = alignSeries(http.status.series, "status_class", STATUS_CLASSES);
        if (cols.x.length === 0) statusEl.append(h("p", { class: "muted" }, "No request in this range."));
        else charts.push(new LinesChart(statusEl, { title: "requests by status class", x: cols.x, series: cols.series.map((s) => ({ ...s, color: STATUS_COLORS[s.label] ?? "--accent" })), from: start, to: end }));
        const quantiles = [...http.latency.series].sort((a, b) => Number(a.labels.quantile) - Number(b.labels.quantile));
        if (quantiles.length === 0) latencyEl.append(h("p", { class: "muted" }, "No request time in this range (the log format needs $request_time)."));
        for (const series of quantiles) {
          const q = series.labels.quantile ?? "";
          const panel = h(
            "section",
            { class: "panel", "data-quantile": q },
            h("header", null, h("h2", null, h("a", { href: seriesUrl(series.key, range), "data-nav": true }, QUANTILES[q] ?? q)), h("span", { class: "badge" }, `${series.resolution} · ${series.t.length} points`)),
          );
          latencyEl.append(panel);
          charts.push(new SeriesChart(panel, { title: series.key, cols: toColumns(series), from: start, to: end, envelope: isDownsampled(series), height: 160 }));
          panel.append(anomalyList(http.latency.anomalies.filter((a) => a.series === series.key)));
        }
      });
    }
    if (patterns) {
      const rows = patternsWithEvents(patterns.patterns, events);
      sections.push(
        h("h2", null, "Log patterns"),
        gridTable(
          "patterns",
          ["Pattern", "Template", "Program", "Lines", "First seen", "Last seen", "Events"],
          rows.map((p) =>
            h(
              "tr",
              { "data-pattern": p.pattern },
              h("th", { scope: "row" }, h("a", { href: seriesUrl(p.series, range), "data-nav": true }, p.pattern)),
              h("td", null, h("code", { "data-col": "template" }, p.template)),
              h("td", null, p.program || "–"),
              h("td", { class: "num", "data-col": "lines" }, p.lines === null ? "–" : String(p.lines)),
              h("td", { "data-col": "first-seen" }, p.first_seen_ms === null ? "–" : formatTime(p.first_seen_ms)),
              h("td", null, p.last_seen_ms === null ? "–" : formatTime(p.last_seen_ms)),
              h("td", null, p.events.map((e) => h("button", { type: "button", "data-event-kind": e.kind, onclick: () => open(e) }, e.kind === "new_log_pattern" ? "new" : "spike"))),
            ),
          ),
          "No pattern with a series of its own in this range.",
          `${patterns.total_lines ?? "–"} lines since ${formatTime(patterns.start_ms)}; ${patterns.other_lines ?? "–"} of them in patterns without a series of their own.`,
        ),
      );
    }
    if (!kinds.http && !kinds.patterns) sections.push(h("p", { class: "muted" }, "This source writes neither request series nor pattern series."));
    sections.push(
      h("h2", null, "Recent events"),
      gridTable(
        "log-events",
        ["Time", "Kind", "Entity", "Severity", "Summary"],
        events.slice(0, 200).map((e) =>
          h(
            "tr",
            { "data-event": e.id, class: e.id === selected ? "selected" : null, tabindex: "0", onclick: () => open(e), onkeydown: (k: KeyboardEvent) => k.key === "Enter" && open(e) },
            h("td", null, formatTime(e.timestamp_ms)),
            h("td", { "data-kind": e.kind }, e.kind),
            h("td", null, entityText(Object.fromEntries(Object.entries(e.entity).filter(([k]) => k !== "log")))),
            h("td", null, h("span", { class: `status ${e.severity}` }, e.severity)),
            h("td", null, e.summary),
          ),
        ),
        `No event from ${choice.log} in the last ${range}.`,
      ),
    );
    replace(body, sections);
    for (const draw of later) draw();
  }

  void load();
  let pending: ReturnType<typeof setTimeout> | undefined;
  const close = subscribe(
    { events: "all" },
    {
      onUpdate: () => {},
      onEvents: (incoming) => {
        const relevant = (incoming as EventRecord[]).some((e) => e.entity?.log === choice.log);
        if (relevant && pending === undefined) pending = setTimeout(() => ((pending = undefined), void load()), 1000);
      },
      onResync: () => void load(),
    },
  );
  return () => {
    stopped = true;
    clearTimeout(pending);
    close();
    for (const chart of charts) chart.destroy();
  };
}
