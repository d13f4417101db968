// Series explorer: search by name or selector, a chart per series with the expected band,
// anomaly markers and the score, a range picker, zoom and pan, live points over SSE.

import { api, type Anomaly, type ChartAnswer } from "../api";
import { SeriesChart } from "../chart";
import { h, replace } from "../dom";
import { subscribe } from "../live";
import { navigate } from "../nav";
import {
  appendLive,
  formatDuration,
  formatTime,
  isDownsampled,
  maxPointsFor,
  parseRange,
  parseTime,
  RANGE_PRESETS,
  rangeAround,
  searchToSelector,
  suggestNames,
  toColumns,
  toLocalInput,
  type PlotColumns,
  type TimeRange,
} from "../transform";
import { explanationView, feedbackButtons } from "./anomaly-view";

export function seriesUrl(match: string, range?: string, at?: number | null): string {
  const params = new URLSearchParams();
  if (match) params.set("match", match);
  if (range) params.set("range", range);
  if (at !== null && at !== undefined) params.set("at", String(at));
  const text = params.toString();
  return `/series${text ? `?${text}` : ""}`;
}

/** The range picker shared by the series and anomalies pages. */
export function rangePicker(current: TimeRange, go: (spec: string) => void): HTMLElement {
  const from = h("input", { type: "datetime-local", "aria-label": "From", value: toLocalInput(current.from) });
  const to = h("input", { type: "datetime-local", "aria-label": "To", value: toLocalInput(current.to) });
  const span = current.to - current.from;
  return h(
    "div",
    { class: "range", role: "group", "aria-label": "Time range" },
    RANGE_PRESETS.map((p) =>
      h("button", { type: "button", "aria-pressed": String(p.spec === current.spec), "data-range": p.spec, onclick: () => go(p.spec) }, p.label),
    ),
    h("button", { type: "button", title: "Earlier (←)", "aria-label": "Earlier", onclick: () => go(`${Math.round(current.from - span / 2)}..${Math.round(current.to - span / 2)}`) }, "◀"),
    h("button", { type: "button", title: "Later (→)", "aria-label": "Later", onclick: () => go(`${Math.round(current.from + span / 2)}..${Math.round(current.to + span / 2)}`) }, "▶"),
    h("button", { type: "button", title: "Zoom out (−)", "aria-label": "Zoom out", onclick: () => go(`${Math.round(current.from - span / 2)}..${Math.round(current.to + span / 2)}`) }, "−"),
    h(
      "form",
      {
        class: "custom-range",
        onsubmit: (event: Event) => {
          event.preventDefault();
          const a = Date.parse(from.value);
          const b = Date.parse(to.value);
          if (!Number.isNaN(a) && !Number.isNaN(b) && a < b) go(`${a}..${b}`);
        },
      },
      from,
      to,
      h("button", { type: "submit" }, "Apply"),
    ),
  );
}

/** The anomalies of a series as chips, each opening the series around its start. */
export function anomalyList(list: Anomaly[]): HTMLElement {
  if (list.length === 0) return h("p", { class: "muted small" }, "No anomaly in this range.");
  return h(
    "ul",
    { class: "anomaly-chips" },
    list.map((a) =>
      h(
        "li",
        null,
        h(
          "a",
          { href: seriesUrl(a.series, rangeAround(a.start_ms, Math.max(3_600_000, 3 * ((a.end_ms ?? Date.now()) - a.start_ms))), a.start_ms), "data-nav": true, class: `sev ${a.severity}` },
          `${formatTime(a.start_ms)} · ${a.end_ms === null ? "ongoing" : formatDuration(a.end_ms - a.start_ms)} · score ${a.peak_score.toFixed(3)} · ${a.status.replace("_", " ")}`,
        ),
      ),
    ),
  );
}

interface Panel {
  id: number;
  key: string;
  cols: PlotColumns;
  chart: SeriesChart;
  anomaliesEl: HTMLElement;
}

export function renderSeries(root: HTMLElement, params: URLSearchParams): () => void {
  const match = params.get("match") ?? "";
  const atText = params.get("at");
  const at = atText !== null && atText !== "" ? Number(atText) : null;
  const now = Date.now();
  const fromParam = params.get("from");
  const toParam = params.get("to");
  const explicit = fromParam ? `${parseTime(fromParam) ?? ""}..${toParam ? parseTime(toParam) ?? "" : ""}` : null;
  const spec = params.get("range") ?? explicit ?? (at !== null ? rangeAround(at, 3_600_000) : "1h");
  let range = parseRange(spec, now) ?? parseRange("1h", now)!;
  const go = (nextSpec: string, nextMatch = match) => navigate(seriesUrl(nextMatch, nextSpec, at), true);

  const names = h("datalist", { id: "metric-names" });
  const input = h("input", {
    type: "search",
    value: match,
    placeholder: 'Metric name, words, or a selector such as cpu{host="web-1"}   (press /)',
    "aria-label": "Series search",
    "data-search": true,
    list: "metric-names",
    autocomplete: "off",
  });
  const search = h(
    "form",
    {
      class: "search",
      role: "search",
      onsubmit: (event: Event) => {
        event.preventDefault();
        navigate(seriesUrl(searchToSelector(input.value) ?? "", range.live ? range.spec : spec));
      },
    },
    input,
    names,
    h("button", { type: "submit" }, "Show"),
  );
  const status = h("p", { class: "muted", "aria-live": "polite" });
  const charts = h("div", { class: "panels" });
  replace(root, h("h1", null, "Series"), search, rangePicker(range, (s) => go(s)), status, charts);

  const panels = new Map<number, Panel>();
  let stopLive: (() => void) | null = null;
  let tick: ReturnType<typeof setInterval> | undefined;
  let anomalyTimer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  void api.names().then((list) => {
    if (stopped) return;
    replace(names, suggestNames(list, "", 500).map((n) => h("option", { value: n })));
    if (!match) showNames(list);
  });

  function showNames(list: string[]): void {
    replace(
      charts,
      h(
        "section",
        { class: "empty" },
        h("h2", null, list.length ? "Pick a series" : "No series yet"),
        list.length
          ? h("ul", { class: "names" }, list.slice(0, 200).map((n) => h("li", null, h("a", { href: seriesUrl(n, range.spec), "data-nav": true }, n))))
          : h("p", null, "Nothing has been ingested yet."),
      ),
    );
  }

  function detailAt(list: Anomaly[]): HTMLElement | null {
    if (at === null) return null;
    const hit = list.find((a) => a.start_ms <= at && (a.end_ms ?? Infinity) >= at) ?? list.find((a) => a.start_ms === at);
    if (!hit) return null;
    const statusEl = h("span", { class: `status ${hit.status}`, "data-testid": "status" }, hit.status.replace("_", " "));
    return h(
      "section",
      { class: "detail" },
      h("h3", null, "Anomaly at ", formatTime(hit.start_ms), " ", statusEl),
      explanationView(hit.explanation),
      feedbackButtons(hit.id, (s) => {
        statusEl.textContent = s.replace("_", " ");
        statusEl.className = `status ${s}`;
      }),
    );
  }

  async function load(): Promise<void> {
    if (!match) return;
    status.textContent = "Loading…";
    let answer: ChartAnswer;
    try {
      const points = Math.min(200_000, Number(params.get("points")) || maxPointsFor(charts.clientWidth || 1000));
      answer = await api.chart({ match, start: range.from, end: range.to, max_points: points, limit: 12 });
    } catch (error) {
      status.textContent = "";
      replace(charts, h("p", { class: "error", role: "alert" }, (error as Error).message));
      return;
    }
    if (stopped) return;
    for (const panel of panels.values()) panel.chart.destroy();
    panels.clear();
    charts.replaceChildren();
    const shown = answer.series.length;
    status.textContent =
      shown === 0
        ? `No series matches ${match}.`
        : `${answer.matched} series match${answer.matched > shown ? `; showing the first ${shown}, refine the search to see others` : ""} · ${formatTime(range.from)} → ${range.live ? "now" : formatTime(range.to)}`;
    for (const series of answer.series) {
      const cols = toColumns(series);
      const anomalies = answer.anomalies.filter((a) => a.series === series.key);
      const anomaliesEl = h("div", null, anomalyList(anomalies));
      const panel = h(
        "section",
        { class: "panel", "data-series": series.key },
        h(
          "header",
          null,
          h("h2", null, h("a", { href: seriesUrl(series.key, range.live ? range.spec : spec), "data-nav": true }, series.key)),
          h("span", { class: "badge", title: "Where the points come from: raw samples or 1-minute/1-hour rollups; downsampled to the chart's width" }, `${series.resolution} · ${series.t.length} points`),
        ),
      );
      charts.appendChild(panel);
      const chart = new SeriesChart(panel, {
        title: series.key,
        cols,
        from: range.from,
        to: range.to,
        envelope: isDownsampled(series),
        at,
        onZoom: (from, to) => go(`${from}..${to}`),
      });
      panel.append(detailAt(anomalies) ?? "", anomaliesEl);
      panels.set(series.id, { id: series.id, key: series.key, cols, chart, anomaliesEl });
    }
  }

  async function reloadAnomalies(): Promise<void> {
    const list = await api.anomalies({ from: range.from, to: range.to, match, limit: 500 });
    for (const panel of panels.values()) replace(panel.anomaliesEl, anomalyList(list.filter((a) => a.series === panel.key)));
  }

  void load().then(() => {
    if (stopped || !match || !range.live) return;
    const width = range.to - range.from;
    const slide = () => {
      const t = Date.now();
      range = { ...range, from: t - width, to: t };
    };
    stopLive = subscribe(
      { match },
      {
        onUpdate(series, anomalies) {
          slide();
          for (const s of series) {
            const panel = panels.get(s.id);
            if (!panel) continue;
            appendLive(panel.cols, s.points, range.from);
            panel.chart.refresh(range.from, range.to);
          }
          if (anomalies.length) {
            clearTimeout(anomalyTimer);
            anomalyTimer = setTimeout(() => void reloadAnomalies(), 300);
          }
        },
        onResync: () => void load(),
      },
    );
    tick = setInterval(() => {
      slide();
      for (const panel of panels.values()) panel.chart.refresh(range.from, range.to);
    }, 5_000);
  });

  return () => {
    stopped = true;
    stopLive?.();
    clearInterval(tick);
    clearTimeout(anomalyTimer);
    for (const panel of panels.values()) panel.chart.destroy();
  };
}
