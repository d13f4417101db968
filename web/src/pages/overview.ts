// Overview: every machine with its status, open anomalies, 24 h counts and the five
// domains at a glance. Logins and content stay empty until a source fills them.

import { api, hasRoute, type MachineSummary, type MachineUsage, type Overview } from "../api";
import { h, replace } from "../dom";
import { subscribe } from "../live";
import { DOMAIN_GROUPS, formatAgo, quoteLabel } from "../transform";

const STATUS_TEXT: Record<string, string> = {
  anomalous: "anomalous",
  normal: "normal",
  no_data: "no data",
  idle: "idle",
  underused: "underused",
};

/** The overview's status, refined by the usage state when the machines API knows it. */
export function machineStatus(summary: MachineSummary, usage: MachineUsage | undefined): string {
  if (summary.status === "anomalous" || summary.status === "no_data") return summary.status;
  if (usage && (usage.state === "idle" || usage.state === "underused")) return usage.state;
  return summary.status;
}

function machineSelector(machine: string | null, usage: MachineUsage | undefined): string {
  if (machine === null) return "";
  const label = usage?.series?.match(/(host|instance|instance_id)="/)?.[1] ?? "host";
  return `{${label}=${quoteLabel(machine)}}`;
}

function domainCell(summary: MachineSummary, group: string): HTMLElement {
  const counts = summary.domains[group];
  if (!counts || counts.series === 0) {
    const why = group === "logins" || group === "content" ? "no source collects this yet" : "no series in this domain";
    return h("td", { class: "domain empty-cell", title: why }, h("span", { class: "muted" }, "—"));
  }
  const state = counts.open_anomalies > 0 ? "bad" : counts.anomalies_24h > 0 ? "warn" : "ok";
  return h(
    "td",
    { class: `domain ${state}`, title: `${counts.series} series, ${counts.open_anomalies} open, ${counts.anomalies_24h} in 24 h` },
    h("span", { class: `dot ${state}` }),
    `${counts.series}`,
    counts.open_anomalies ? h("span", { class: "badge bad" }, `${counts.open_anomalies} open`) : null,
  );
}

function renderTable(data: Overview, usage: Map<string, MachineUsage>): HTMLElement {
  if (data.machines.length === 0) {
    return h(
      "section",
      { class: "empty", "data-testid": "overview-empty" },
      h("h2", null, "No data yet"),
      h("p", null, "lookout has not received any series. Send samples with Prometheus remote write, InfluxDB line protocol or POST /api/v1/samples, or enable the host source."),
    );
  }
  const rows = data.machines.map((m) => {
    const u = m.machine ? usage.get(m.machine) : undefined;
    const status = machineStatus(m, u);
    const match = machineSelector(m.machine, u);
    return h(
      "tr",
      { "data-machine": m.machine ?? "", "data-status": status },
      h(
        "th",
        { scope: "row" },
        m.machine === null
          ? h("span", { class: "muted", title: "Series without a host, instance or instance_id label" }, "not tied to a machine")
          : h("a", { href: `/series?match=${encodeURIComponent(match)}`, "data-nav": true }, m.machine),
      ),
      h("td", null, h("span", { class: `status ${status}` }, STATUS_TEXT[status] ?? status)),
      h("td", { class: "num" }, m.open_anomalies ? h("a", { href: `/anomalies?status=open${match ? `&match=${encodeURIComponent(match)}` : ""}`, "data-nav": true, class: "bad" }, String(m.open_anomalies)) : "0"),
      h("td", { class: "num" }, String(m.anomalies_24h)),
      h("td", { class: "num" }, String(m.series)),
      h("td", { class: "num" }, m.max_score === null ? "–" : m.max_score.toFixed(2)),
      h("td", { class: "muted" }, formatAgo(m.last_seen_ms, data.now_ms)),
      DOMAIN_GROUPS.map((g) => domainCell(m, g.id)),
    );
  });
  return h(
    "table",
    { class: "grid", "data-testid": "machines-table" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        ["Machine", "Status", "Open", "24 h", "Series", "Score", "Last sample"].map((t) => h("th", { scope: "col" }, t)),
        DOMAIN_GROUPS.map((g) => h("th", { scope: "col", class: "domain" }, g.label)),
      ),
    ),
    h("tbody", null, rows),
  );
}

export function renderOverview(root: HTMLElement): () => void {
  const totals = h("div", { class: "cards" });
  const body = h("div", { class: "loading" }, "Loading…");
  replace(root, h("h1", null, "Overview"), totals, body);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const load = async () => {
    const started = performance.now();
    try {
      const [data, machines] = await Promise.all([api.overview(), hasRoute("GET", "/api/v1/machines").then((has) => (has ? api.machines() : []))]);
      if (stopped) return;
      const list = Array.isArray(machines) ? machines : machines.machines ?? [];
      const usage = new Map(list.map((m) => [m.machine, m]));
      replace(
        totals,
        card("Machines", data.totals.machines),
        card("Series", data.totals.series),
        card("Open anomalies", data.totals.open_anomalies, data.totals.open_anomalies > 0 ? "bad" : ""),
        card("Anomalies in 24 h", data.totals.anomalies_24h),
      );
      body.className = "";
      replace(body, renderTable(data, usage));
      performance.measure("overview-render", { start: started });
      document.body.dataset.overview = "ready";
    } catch (error) {
      replace(body, h("p", { class: "error", role: "alert" }, `Could not load the overview: ${(error as Error).message}`));
    }
  };
  const reloadSoon = () => {
    clearTimeout(timer);
    timer = setTimeout(load, 500);
  };
  void load();
  const every = setInterval(load, 15_000);
  const close = subscribe({ match: '{__name__=~".+"}', points: "false", anomalies: "all" }, { onUpdate: reloadSoon, onResync: reloadSoon });
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearInterval(every);
    close();
  };
}

function card(label: string, value: number, tone = ""): HTMLElement {
  return h("div", { class: `card ${tone}` }, h("div", { class: "card-value" }, String(value)), h("div", { class: "card-label" }, label));
}
