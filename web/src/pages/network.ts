// Network: per capture point (the series' `interface` or `capture` label), packets per
// second by protocol and by TCP flag with their expected bands and anomalies, the top
// sources and destinations in the last second against the median of the hour before,
// the attack timeline (flood, scan and connection events) and each attack's evidence
// beside it. Data: `/api/v1/label/.../values` (capture points), `/api/v1/chart`
// (protocols, flags), PromQL range selectors at one instant (`/api/v1/query`: the raw
// samples of the hour, for the talkers) and `/api/v1/events`. New attack events from the
// live stream reload the page.

import { allEvents, api, get, matrixAt, query } from "../api";
import { SeriesChart } from "../chart";
import { gridTable, h, replace, type Child } from "../dom";
import { type EventRecord } from "../events";
import { subscribe } from "../live";
import { change, evaluationTime, intervalGrid, isUnusual, type NowVsNormal } from "../logs";
import { navigate } from "../nav";
import {
  attackFacts,
  attackLabel,
  attacks,
  capturePoints,
  findPoint,
  NETWORK_KINDS,
  POINT_LABELS,
  pointMatcher,
  pointText,
  PROTOCOLS,
  TCP_FLAGS,
  timelinePosition,
  topTalkers,
  type CapturePoint,
} from "../network";
import { formatTime, formatValue, isDownsampled, maxPointsFor, parseDuration, quoteLabel, toColumns, type ChartSeries } from "../transform";
import { detail } from "./events";
import { anomalyList, seriesUrl } from "./series";

const RANGES = ["15m", "1h", "6h", "24h", "7d"];
/** The window the talkers' "usual" is the median of. */
const NORMAL_MS = 3_600_000;

function pageUrl(point: string, range: string, id?: number): string {
  const search = new URLSearchParams();
  if (point) search.set("point", point);
  if (range !== "1h") search.set("range", range);
  if (id !== undefined) search.set("id", String(id));
  const text = search.toString();
  return text ? `/network?${text}` : "/network";
}

/** What to configure when no capture has written series. */
function setupHint(): HTMLElement {
  return h(
    "section",
    { class: "empty", "data-testid": "network-empty" },
    h("p", null, "No packet capture has written series yet. To capture live traffic, add a source to the configuration (root or CAP_NET_RAW):"),
    h("pre", null, '[[source]]\ntype = "packet_capture"\ninterface = "eth0"'),
    h("p", null, "To look at a capture after the fact, run ", h("code", null, "lookout pcap FILE --series series.csv"), ": it prints the flood and scan events and writes the same series."),
  );
}

/** An attack's evidence in the page's terms: victim, trigger, spoofing, service, top
 *  sources with their shares, rates and the first packets. */
function attackEvidence(event: EventRecord): HTMLElement {
  const facts = attackFacts(event);
  const fact = (name: string, label: string, value: string | null) =>
    value === null ? null : [h("dt", null, label), h("dd", { "data-fact": name }, value)];
  return h(
    "section",
    { class: "detail", "data-testid": "attack-evidence", "data-event": event.id },
    h("h2", null, `${attackLabel(event.kind)} #${event.id}`),
    h(
      "dl",
      null,
      fact("victim", "Victim", facts.victim),
      fact("trigger", "Trigger", facts.trigger === "ceiling" ? "ceiling (over the configured limit)" : facts.trigger === "baseline" ? "baseline (far above the learnt rate)" : facts.trigger),
      fact("spoofed", "Spoofed sources", facts.spoofed),
      fact("service", "Reflected service", facts.service),
    ),
    facts.topSources.length
      ? gridTable(
          "attack-sources",
          ["Top source", "Share of the attack's packets"],
          facts.topSources.map((s) =>
            h(
              "tr",
              { "data-source": s.source },
              h("th", { scope: "row" }, s.source),
              h("td", { "data-col": "share" }, s.share === null ? "–" : [h("span", { class: "bar", style: `--w:${Math.round(s.share * 100)}%` }), `${(s.share * 100).toFixed(1)} %`]),
            ),
          ),
          "",
          "the heavy-hitter summary's estimates (upper bounds)",
        )
      : null,
    facts.rates.length
      ? gridTable(
          "attack-rates",
          ["Rate", "Value"],
          facts.rates.map((r) => h("tr", { "data-rate": r.name }, h("th", { scope: "row" }, r.label), h("td", { class: "num", title: String(r.value) }, formatValue(r.value)))),
          "",
        )
      : null,
    facts.packets.length ? [h("h3", null, "First packets"), h("pre", { "data-testid": "attack-packets" }, facts.packets.join("\n"))] : null,
  );
}

export function renderNetwork(root: HTMLElement, params: URLSearchParams): () => void {
  const range = RANGES.includes(params.get("range") ?? "") ? params.get("range")! : "1h";
  const rangeMs = parseDuration(range) ?? 3_600_000;
  const selected = Number(params.get("id")) || null;
  let pointParam = params.get("point") ?? "";
  const filters = h("form", { class: "filters", "data-testid": "network-filters", onsubmit: (e: Event) => e.preventDefault() });
  const body = h("div", null, h("p", { class: "loading" }, "Loading…"));
  const side = h("div", { class: "side" });
  replace(
    root,
    h("h1", null, "Network"),
    h("p", { class: "muted" }, "Captured packets by protocol and TCP flag against their usual level, the heaviest sources and destinations, and the floods, scans and connection attacks found in them. An attack opens its evidence."),
    filters,
    h("div", { class: "split" }, body, side),
  );

  let stopped = false;
  let charts: { destroy(): void }[] = [];
  const open = (event: EventRecord) => {
    history.replaceState(null, "", pageUrl(pointParam, range, event.id));
    replace(side, attackEvidence(event), detail(event));
    for (const el of root.querySelectorAll("[data-event]")) {
      if (el.closest(".side")) continue;
      el.classList.toggle("selected", Number((el as HTMLElement).dataset.event) === event.id);
    }
  };

  function pickers(points: CapturePoint[]): Child[] {
    return [
      points.length
        ? h(
            "select",
            { "aria-label": "capture point", "data-filter": "point", onchange: (e: Event) => navigate(pageUrl((e.target as HTMLSelectElement).value, range), true) },
            points.map((p) => h("option", { value: pointText(p), selected: pointText(p) === pointParam ? true : null }, pointText(p))),
          )
        : null,
      h(
        "select",
        { "aria-label": "range", "data-filter": "range", onchange: (e: Event) => navigate(pageUrl(pointParam, (e.target as HTMLSelectElement).value), true) },
        RANGES.map((value) => h("option", { value, selected: value === range ? true : null }, `last ${value}`)),
      ),
    ];
  }

  async function load(): Promise<void> {
    try {
      const values = await Promise.all(POINT_LABELS.map((label) => get<string[]>(`/api/v1/label/${label}/values${query({ "match[]": "net_packets_per_second" })}`)));
      const points = capturePoints(Object.fromEntries(POINT_LABELS.map((label, i) => [label, values[i]])));
      const point = findPoint(points, pointParam) ?? points[0];
      pointParam = point ? pointText(point) : "";
      const end = Date.now();
      const start = end - rangeMs;
      const [events, traffic] = await Promise.all([
        allEvents({ from: `now-${range}`, kind: NETWORK_KINDS.join(",") }),
        point ? loadTraffic(point, start, end) : Promise.resolve(null),
      ]);
      if (stopped) return;
      replace(filters, pickers(points));
      draw(attacks(events), traffic, start, end);
      const chosen = selected ? events.find((e) => e.id === selected) : undefined;
      if (chosen) open(chosen);
    } catch (error) {
      replace(body, h("p", { class: "error", role: "alert" }, (error as Error).message));
    }
  }

  async function loadTraffic(point: CapturePoint, start: number, end: number) {
    const scope = pointMatcher(point);
    const points = maxPointsFor(body.clientWidth || 1000);
    const [protocols, flags] = await Promise.all([
      api.chart({ match: `net_packets_per_second{${scope}}`, start, end, max_points: points, limit: 10 }),
      api.chart({ match: `net_tcp_flags_per_second{${scope}}`, start, end, max_points: points, limit: 10 }),
    ]);
    const all = protocols.series.find((s) => s.labels.protocol === "all");
    const lastPoint = all?.t[all.t.length - 1] ?? null;
    const at = evaluationTime(lastPoint, start, end, (end - start) / points);
    const window = `[${NORMAL_MS / 1000}s]`;
    const [ticks, sources, destinations] = await Promise.all([
      matrixAt(`net_packets_per_second{${scope},protocol="all"}${window}`, at),
      matrixAt(`net_source_packets_per_second{${scope}}${window}`, at),
      matrixAt(`net_destination_packets_per_second{${scope}}${window}`, at),
    ]);
    const grid = intervalGrid(ticks);
    return { point, protocols, flags, grid, sources: topTalkers(sources, "source", grid), destinations: topTalkers(destinations, "destination", grid) };
  }

  function talkers(testid: string, label: string, metric: string, rows: NowVsNormal[], point: CapturePoint, caption: string): HTMLElement {
    return gridTable(
      testid,
      [label, "Packets/s now", "Usual", "Change"],
      rows.map((r) =>
        h(
          "tr",
          { "data-talker": r.key, class: isUnusual(r.now, r.normal, 100) ? "unusual" : null },
          h("th", { scope: "row" }, h("a", { href: seriesUrl(`${metric}{${pointMatcher(point)},${label.toLowerCase()}=${quoteLabel(r.key)}}`, range), "data-nav": true }, r.key)),
          h("td", { class: "num", "data-col": "now" }, formatValue(r.now)),
          h("td", { class: "num", "data-col": "normal" }, formatValue(r.normal)),
          h("td", { class: "num", "data-col": "change" }, change(r.now, r.normal)),
        ),
      ),
      "No address held 1 % and 100 packets of the last second.",
      caption,
    );
  }

  function panels(el: HTMLElement, answer: Awaited<ReturnType<typeof api.chart>>, label: string, order: string[], empty: string): void {
    const rank = (s: ChartSeries) => {
      const at = order.indexOf(s.labels[label] ?? "");
      return at < 0 ? order.length : at;
    };
    const list = [...answer.series].sort((a, b) => rank(a) - rank(b));
    if (list.length === 0) el.append(h("p", { class: "muted" }, empty));
    for (const series of list) {
      const value = series.labels[label] ?? series.key;
      const panel = h(
        "section",
        { class: "panel", [`data-${label}`]: value },
        h("header", null, h("h2", null, h("a", { href: seriesUrl(series.key, range), "data-nav": true }, value)), h("span", { class: "badge" }, `${series.resolution} · ${series.t.length} points`)),
      );
      el.append(panel);
      charts.push(new SeriesChart(panel, { title: series.key, cols: toColumns(series), from: answer.start_ms, to: answer.end_ms, envelope: isDownsampled(series), height: 120 }));
      panel.append(anomalyList(answer.anomalies.filter((a) => a.series === series.key)));
    }
  }

  function draw(events: EventRecord[], traffic: Awaited<ReturnType<typeof loadTraffic>> | null, start: number, end: number): void {
    for (const chart of charts) chart.destroy();
    charts = [];
    const sections: Child[] = [];
    const later: (() => void)[] = [];
    if (!traffic) sections.push(setupHint());
    sections.push(
      h("h2", null, "Attack timeline"),
      h(
        "div",
        { class: "attack-timeline", "data-testid": "attack-timeline", "aria-label": `Attacks from ${formatTime(start)} to ${formatTime(end)}` },
        events.map((e) =>
          h("button", {
            type: "button",
            class: `attack-mark ${e.severity}`,
            style: `left:${timelinePosition(e.timestamp_ms, start, end).toFixed(2)}%`,
            title: `${formatTime(e.timestamp_ms)} ${attackLabel(e.kind)}: ${e.summary}`,
            "aria-label": `${attackLabel(e.kind)} at ${formatTime(e.timestamp_ms)}`,
            "data-event": e.id,
            "data-kind": e.kind,
            onclick: () => open(e),
          }),
        ),
      ),
      gridTable(
        "attacks",
        ["Time", "Attack", "Victim", "Trigger", "Packets/s", "Spoofed", "Top source"],
        events.slice(0, 200).map((e) => {
          const facts = attackFacts(e);
          const top = facts.topSources[0];
          return h(
            "tr",
            { "data-event": e.id, class: e.id === selected ? "selected" : null, tabindex: "0", onclick: () => open(e), onkeydown: (k: KeyboardEvent) => k.key === "Enter" && open(e) },
            h("td", null, formatTime(e.timestamp_ms)),
            h("td", { "data-kind": e.kind }, attackLabel(e.kind), facts.service ? ` (${facts.service})` : ""),
            h("td", { "data-col": "victim" }, facts.victim ?? "–"),
            h("td", null, facts.trigger ?? "–"),
            h("td", { class: "num" }, formatValue(facts.rates.find((r) => r.name === "packets_per_second")?.value ?? null)),
            h("td", null, facts.spoofed ?? "–"),
            h("td", null, top ? `${top.source}${top.share === null ? "" : ` (${(top.share * 100).toFixed(1)} %)`}` : "–"),
          );
        }),
        `No flood, scan or connection attack in the last ${range}.`,
      ),
    );
    if (traffic) {
      const last = traffic.grid[traffic.grid.length - 1];
      const caption =
        last === undefined
          ? ""
          : `last second (${formatTime(last)}) against the median of the ${traffic.grid.length} seconds of the hour before; a second in which an address held under 1 % or 100 packets counts as none`;
      const protocolsEl = h("div", { class: "panels pairs", "data-testid": "protocols" });
      const flagsEl = h("div", { class: "panels pairs", "data-testid": "tcp-flags" });
      sections.push(
        h("h2", null, "Top sources"),
        talkers("sources", "Source", "net_source_packets_per_second", traffic.sources, traffic.point, caption),
        h("h2", null, "Top destinations"),
        talkers("destinations", "Destination", "net_destination_packets_per_second", traffic.destinations, traffic.point, caption),
        h("h2", null, "Packets per second by protocol"),
        protocolsEl,
        h("h2", null, "TCP packets per second by flags"),
        flagsEl,
      );
      later.push(() => {
        panels(protocolsEl, traffic.protocols, "protocol", PROTOCOLS, "No packet in this range.");
        panels(flagsEl, traffic.flags, "flags", TCP_FLAGS, "No TCP packet in this range.");
      });
    }
    replace(body, sections);
    for (const run of later) run();
  }

  void load();
  let pending: ReturnType<typeof setTimeout> | undefined;
  const close = subscribe(
    { events: "all" },
    {
      onUpdate: () => {},
      onEvents: (incoming) => {
        const relevant = (incoming as EventRecord[]).some((e) => NETWORK_KINDS.includes(e.kind));
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
