// Anomalies: a timeline and a list filtered by time, severity, domain, status and
// labels; each opens the series at that moment with its explanation and feedback.

import { api, type Anomaly, type AnomalyDetail } from "../api";
import { SeriesChart } from "../chart";
import { h, replace } from "../dom";
import { subscribe } from "../live";
import { navigate } from "../nav";
import {
  DOMAIN_GROUPS,
  filterAnomalies,
  formatDuration,
  formatTime,
  histogram,
  isDownsampled,
  maxPointsFor,
  parseRange,
  toColumns,
  type AnomalyFilter,
} from "../transform";
import { explanationView, FEEDBACK, feedbackButtons } from "./anomaly-view";
import { rangePicker, seriesUrl } from "./series";

const SEVERITIES = ["critical", "warning", "info"];
const STATUSES = ["open", "resolved", "acknowledged", "false_positive", "expected", "incident"];

function select(name: string, label: string, value: string, options: [string, string][]): HTMLSelectElement {
  return h(
    "select",
    { name, "aria-label": label },
    h("option", { value: "" }, `${label}: all`),
    options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)),
  );
}

export function renderAnomalies(root: HTMLElement, params: URLSearchParams): () => void {
  const now = Date.now();
  const spec = params.get("range") ?? "24h";
  let range = parseRange(spec, now) ?? parseRange("24h", now)!;
  const filter: AnomalyFilter = {
    severity: params.get("severity") ?? "",
    domain: params.get("domain") ?? "",
    status: params.get("status") ?? "",
    text: params.get("text") ?? "",
  };
  const match = params.get("match") ?? "";
  const url = (changes: Record<string, string>) => {
    const next = new URLSearchParams({ range: spec, ...filter, match, ...changes });
    for (const [k, v] of [...next.entries()]) if (!v) next.delete(k);
    return `/anomalies?${next.toString()}`;
  };
  const go = (changes: Record<string, string>) => navigate(url(changes), true);

  const severity = select("severity", "Severity", filter.severity, SEVERITIES.map((s) => [s, s]));
  const domain = select("domain", "Domain", filter.domain, DOMAIN_GROUPS.map((g) => [g.id, g.label]));
  const statusSel = select("status", "Status", filter.status, STATUSES.map((s) => [s, s.replace("_", " ")]));
  const labels = h("input", { type: "search", value: match || filter.text, placeholder: 'Labels: words, or a selector like {host="web-1"}', "aria-label": "Labels", "data-search": true });
  const filters = h(
    "form",
    {
      class: "filters",
      onsubmit: (event: Event) => {
        event.preventDefault();
        const text = labels.value.trim();
        const isSelector = text.includes("{");
        go({ severity: severity.value, domain: domain.value, status: statusSel.value, match: isSelector ? text : "", text: isSelector ? "" : text });
      },
    },
    severity,
    domain,
    statusSel,
    labels,
    h("button", { type: "submit" }, "Filter"),
  );
  for (const s of [severity, domain, statusSel]) s.addEventListener("change", () => filters.requestSubmit());
  const timeline = h("div", { class: "timeline", "aria-hidden": "true" });
  const summary = h("p", { class: "muted", "aria-live": "polite" });
  const list = h("div", null, h("p", { class: "loading" }, "Loading…"));
  const detail = h("div", { class: "detail-pane" });
  replace(
    root,
    h("h1", null, "Anomalies"),
    rangePicker(range, (s) => go({ range: s })),
    filters,
    timeline,
    summary,
    h("div", { class: "split" }, list, detail),
  );

  let stopped = false;
  let selected: number | null = null;
  let detailChart: SeriesChart | null = null;
  let reloadTimer: ReturnType<typeof setTimeout> | undefined;
  const rows = new Map<number, HTMLTableRowElement>();

  function setStatus(id: number, status: string): void {
    const row = rows.get(id);
    const cell = row?.querySelector<HTMLElement>("[data-testid=status]");
    if (row) row.dataset.status = status;
    if (cell) {
      cell.textContent = status.replace("_", " ");
      cell.className = `status ${status}`;
    }
    const detailStatus = detail.querySelector<HTMLElement>("[data-testid=detail-status]");
    if (detailStatus && selected === id) {
      detailStatus.textContent = status.replace("_", " ");
      detailStatus.className = `status ${status}`;
    }
  }

  async function open(anomaly: Anomaly): Promise<void> {
    selected = anomaly.id;
    for (const [id, row] of rows) row.setAttribute("aria-selected", String(id === anomaly.id));
    detailChart?.destroy();
    detailChart = null;
    const end = anomaly.end_ms ?? Date.now();
    const pad = Math.max(30 * 60_000, end - anomaly.start_ms);
    const from = anomaly.start_ms - pad;
    const to = Math.min(Date.now(), end + pad);
    const chartEl = h("div", { class: "detail-chart" });
    const info: AnomalyDetail | null = await api.anomaly(anomaly.id).catch(() => null);
    const current = info?.anomaly ?? anomaly;
    replace(
      detail,
      h(
        "section",
        { class: "detail", "data-testid": "anomaly-detail" },
        h("h2", null, h("a", { href: seriesUrl(current.series, `${Math.round(from)}..${Math.round(to)}`, current.start_ms), "data-nav": true }, current.series)),
        h(
          "p",
          null,
          h("span", { class: `status ${current.status}`, "data-testid": "detail-status" }, current.status.replace("_", " ")),
          " ",
          h("span", { class: `sev ${current.severity}` }, current.severity),
          ` · ${current.domain} · started ${formatTime(current.start_ms)} · `,
          current.end_ms === null ? "ongoing" : `lasted ${formatDuration(current.end_ms - current.start_ms)}`,
          ` · peak score ${current.peak_score.toFixed(3)}`,
          info?.tolerance != null ? ` · series tolerance ${info.tolerance.toFixed(3)}` : "",
        ),
        feedbackButtons(current.id, (s) => setStatus(current.id, s)),
        chartEl,
        explanationView(current.explanation),
        info && info.feedback.length
          ? h("ul", { class: "small muted" }, info.feedback.map((f) => h("li", null, `${formatTime(f.created_ms)}: ${f.label.replace("_", " ")}${f.note ? ` (${f.note})` : ""}`)))
          : null,
      ),
    );
    try {
      const answer = await api.chart({ match: current.series, start: from, end: to, max_points: maxPointsFor(chartEl.clientWidth || 600), limit: 1 });
      const series = answer.series[0];
      if (series && selected === anomaly.id) {
        detailChart = new SeriesChart(chartEl, { title: series.key, cols: toColumns(series), from, to, envelope: isDownsampled(series), at: current.start_ms, height: 200 });
      }
    } catch (error) {
      chartEl.textContent = `Could not load the series: ${(error as Error).message}`;
    }
  }

  async function load(): Promise<void> {
    if (range.live) range = parseRange(range.spec, Date.now()) ?? range;
    let all: Anomaly[];
    try {
      all = await api.anomalies({ from: range.from, to: range.to, match: match || undefined, limit: 5000 });
    } catch (error) {
      replace(list, h("p", { class: "error", role: "alert" }, (error as Error).message));
      return;
    }
    if (stopped) return;
    const shown = filterAnomalies(all, filter);
    const buckets = 96;
    const counts = histogram(shown.map((a) => a.start_ms), range.from, range.to, buckets);
    const peak = Math.max(1, ...counts);
    replace(timeline, counts.map((c, i) => h("span", { style: `--h:${(c / peak) * 100}%`, title: `${c} anomalies from ${formatTime(range.from + ((range.to - range.from) * i) / buckets)}` })));
    summary.textContent = `${shown.length} of ${all.length} anomalies from ${formatTime(range.from)} to ${range.live ? "now" : formatTime(range.to)}`;
    rows.clear();
    if (shown.length === 0) {
      replace(list, h("section", { class: "empty", "data-testid": "anomalies-empty" }, h("p", null, all.length ? "No anomaly passes these filters." : "No anomaly in this range.")));
      return;
    }
    const body = h(
      "tbody",
      null,
      shown.map((a) => {
        const row = h(
          "tr",
          {
            "data-testid": "anomaly-row",
            "data-id": String(a.id),
            "data-status": a.status,
            tabindex: "0",
            "aria-selected": String(a.id === selected),
            onclick: (event: Event) => {
              if ((event.target as Element).closest("button, a")) return;
              void open(a);
            },
            onkeydown: (event: KeyboardEvent) => onRowKey(event, a),
          },
          h("td", null, formatTime(a.start_ms)),
          h("td", null, a.end_ms === null ? h("span", { class: "badge bad" }, "ongoing") : formatDuration(a.end_ms - a.start_ms)),
          h("th", { scope: "row", class: "series-cell" }, h("a", { href: seriesUrl(a.series, undefined, a.start_ms), "data-nav": true }, a.series)),
          h("td", null, h("span", { class: `sev ${a.severity}` }, a.severity)),
          h("td", null, a.domain),
          h("td", { class: "num" }, a.peak_score.toFixed(3)),
          h("td", null, h("span", { class: `status ${a.status}`, "data-testid": "status" }, a.status.replace("_", " "))),
        );
        rows.set(a.id, row);
        return row;
      }),
    );
    replace(
      list,
      h(
        "table",
        { class: "grid", "data-testid": "anomalies-table" },
        h("caption", { class: "small muted" }, "Enter opens an anomaly; then a, f, e or i gives feedback; ↑/↓ move."),
        h("thead", null, h("tr", null, ["Start", "Duration", "Series", "Severity", "Domain", "Peak", "Status"].map((t) => h("th", { scope: "col" }, t)))),
        body,
      ),
    );
    const keep = selected !== null ? shown.find((a) => a.id === selected) : undefined;
    if (keep) rows.get(keep.id)?.setAttribute("aria-selected", "true");
  }

  function onRowKey(event: KeyboardEvent, a: Anomaly): void {
    const row = event.currentTarget as HTMLElement;
    if (event.key === "Enter") return void open(a);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const next = (event.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling) as HTMLElement | null;
      next?.focus();
      return;
    }
    const feedback = FEEDBACK.find((f) => f.key === event.key);
    if (feedback) {
      event.preventDefault();
      void api.feedback(a.id, feedback.label).then((answer) => setStatus(a.id, answer.status));
    }
  }

  void load();
  const reloadSoon = () => {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => void load(), 500);
  };
  const close = range.live
    ? subscribe({ match: match || '{__name__=~".+"}', points: "false", anomalies: match ? "" : "all" }, { onUpdate: reloadSoon, onResync: reloadSoon })
    : () => {};
  return () => {
    stopped = true;
    clearTimeout(reloadTimer);
    detailChart?.destroy();
    close();
  };
}
