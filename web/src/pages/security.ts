// Security: login failures over time, the top attacking addresses, the users targeted,
// the login incidents (brute force, enumeration, success after failures) and the
// injection attempts by kind and client. Each incident opens its evidence beside the
// lists. Data: `GET /api/v1/events` (domains login and content), and PromQL over the
// `auth_login_*` series (`/api/v1/query_range`, `/api/v1/query`). New login and content
// events from the live stream reload the page's data.

import { allEvents, get, query } from "../api";
import { gridTable, h, replace, type Child } from "../dom";
import { type EventRecord } from "../events";
import { subscribe } from "../live";
import { navigate } from "../nav";
import {
  ATTACK_KINDS,
  incidentLabel,
  injectionByClient,
  injectionIncidents,
  kindTotals,
  loginIncidents,
  sumBuckets,
  topAttackers,
  usersTargeted,
  type VectorRow,
} from "../security";
import { formatTime, parseDuration } from "../transform";
import { detail } from "./events";

const RANGES = ["15m", "1h", "6h", "24h", "7d"];
const BUCKETS = 60;
function pageUrl(range: string, id?: number): string {
  const search = new URLSearchParams();
  if (range !== "1h") search.set("range", range);
  if (id !== undefined) search.set("id", String(id));
  const text = search.toString();
  return text ? `/security?${text}` : "/security";
}

function card(label: string, value: string, testid: string, bad = false): HTMLElement {
  return h("div", { class: bad ? "card bad" : "card", "data-testid": testid }, h("div", { class: "card-value" }, value), h("div", { class: "card-label" }, label));
}

export function renderSecurity(root: HTMLElement, params: URLSearchParams): () => void {
  const range = RANGES.includes(params.get("range") ?? "") ? params.get("range")! : "1h";
  const selected = Number(params.get("id")) || null;
  const rangeMs = parseDuration(range) ?? 3_600_000;
  const step = Math.max(1, Math.round(rangeMs / 1000 / BUCKETS));
  const body = h("div", null, h("p", { class: "loading" }, "Loading…"));
  const side = h("div", { class: "side" });
  const picker = h(
    "select",
    { "aria-label": "range", "data-filter": "range", onchange: (e: Event) => navigate(pageUrl((e.target as HTMLSelectElement).value), true) },
    RANGES.map((value) => h("option", { value, selected: value === range ? true : null }, `last ${value}`)),
  );
  replace(
    root,
    h("h1", null, "Security"),
    h("p", { class: "muted" }, "Login attacks from auth logs and injection attempts from access logs. A row opens its evidence."),
    h("form", { class: "filters", onsubmit: (e: Event) => e.preventDefault() }, picker),
    h("div", { class: "split" }, body, side),
  );

  let stopped = false;
  const open = (event: EventRecord) => {
    history.replaceState(null, "", pageUrl(range, event.id));
    replace(side, detail(event));
    for (const row of root.querySelectorAll("tr[data-event]")) row.classList.toggle("selected", Number((row as HTMLElement).dataset.event) === event.id);
  };
  const clickable = (event: EventRecord, ...cells: Child[]) =>
    h("tr", { "data-event": event.id, class: event.id === selected ? "selected" : null, tabindex: "0", onclick: () => open(event), onkeydown: (e: KeyboardEvent) => e.key === "Enter" && open(event) }, cells);

  async function load(): Promise<void> {
    const end = Date.now() / 1000;
    try {
      const [events, failures, bySource] = await Promise.all([
        allEvents({ from: `now-${range}`, domain: "login,content" }),
        get<{ result: { values: [number, string][] }[] }>(
          `/api/v1/query_range${query({ query: `sum(avg_over_time(auth_login_failures_per_second[${step}s])) * ${step}`, start: end - rangeMs / 1000, end, step })}`,
        ),
        get<{ result: VectorRow[] }>(`/api/v1/query${query({ query: `sum by (source_ip) (sum_over_time(auth_login_failures_by_source[${Math.round(rangeMs / 1000)}s]))` })}`),
      ]);
      if (stopped) return;
      draw(events, sumBuckets(failures.result), bySource.result);
      const chosen = selected ? events.find((e) => e.id === selected) : undefined;
      if (chosen) open(chosen);
    } catch (error) {
      replace(body, h("p", { class: "error", role: "alert" }, (error as Error).message));
    }
  }

  function draw(events: EventRecord[], buckets: Array<[number, number]>, bySource: VectorRow[]): void {
    const logins = loginIncidents(events);
    const incidents = injectionIncidents(events);
    const clients = injectionByClient(incidents);
    const totals = kindTotals(clients);
    const attackers = topAttackers(bySource, clients, logins);
    const users = usersTargeted(logins);
    const failed = Math.round(buckets.reduce((sum, [, n]) => sum + n, 0));
    const attempts = clients.reduce((sum, c) => sum + c.requests, 0);
    const peak = Math.max(1, ...buckets.map(([, n]) => n));
    const compromised = logins.filter((e) => e.kind === "ssh_success_after_failures").length;
    replace(
      body,
      h(
        "div",
        { class: "cards" },
        card(`login failures, last ${range}`, String(failed), "card-failures"),
        card("login incidents", String(logins.length), "card-login-incidents", logins.length > 0),
        card("success after failures", String(compromised), "card-compromised", compromised > 0),
        card("injection attempts", String(attempts), "card-injections", attempts > 0),
      ),
      h("h2", null, "Login failures over time"),
      h(
        "div",
        { class: "timeline", "data-testid": "login-timeline", "data-total": String(failed) },
        buckets.map(([t, n]) => h("span", { style: `--h:${(n / peak) * 100}%`, "data-count": String(Math.round(n)), title: `${Math.round(n)} failures from ${formatTime(t - step * 1000)}` })),
      ),
      h("h2", null, "Top attacking addresses"),
      gridTable(
        "attackers",
        ["Address", "Login failures", "Login incidents", "Injection attempts"],
        attackers.map((a) =>
          h("tr", { "data-ip": a.ip }, h("th", { scope: "row" }, a.ip), h("td", { class: "num" }, String(a.loginFailures)), h("td", { class: "num" }, String(a.loginIncidents)), h("td", { class: "num" }, String(a.injections))),
        ),
        "No attacking address in this range.",
      ),
      h("h2", null, "Users targeted"),
      gridTable(
        "users",
        ["User", "Incidents", "Source addresses", ""],
        users.map((u) =>
          h(
            "tr",
            { "data-user": u.user },
            h("th", { scope: "row" }, u.user),
            h("td", { class: "num" }, String(u.incidents)),
            h("td", null, u.sources.join(", ")),
            h("td", null, u.compromised ? h("span", { class: "status critical" }, "logged in after failures") : ""),
          ),
        ),
        "No user targeted in this range.",
      ),
      h("h2", null, "Login incidents"),
      gridTable(
        "login-incidents",
        ["Time", "Incident", "Source", "Users", "Failures", "Severity"],
        logins.map((e) =>
          clickable(
            e,
            h("td", null, formatTime(e.timestamp_ms)),
            h("td", { "data-kind": e.kind }, incidentLabel(e.kind)),
            h("td", null, e.entity.source_ip ?? "–"),
            h("td", null, e.evidence.fields?.users_tried ?? ""),
            h("td", { class: "num" }, String(e.evidence.counts?.failures ?? "")),
            h("td", null, h("span", { class: `status ${e.severity}` }, e.severity)),
          ),
        ),
        "No login incident in this range.",
      ),
      h("h2", null, "Injection attempts"),
      h(
        "div",
        { class: "cards", "data-testid": "injection-kinds" },
        ATTACK_KINDS.map((kind) => card(kind, String(totals[kind] ?? 0), `kind-${kind}`, (totals[kind] ?? 0) > 0)),
      ),
      gridTable(
        "injection-clients",
        ["Client", ...ATTACK_KINDS, "Total", "Incidents", "Last"],
        clients.map((c) => {
          const latest = c.incidents[0];
          return clickable(
            latest.event,
            h("th", { scope: "row", "data-client": c.client }, c.client),
            ATTACK_KINDS.map((kind) => h("td", { class: "num", "data-kind": kind }, String(c.byKind[kind] ?? 0))),
            h("td", { class: "num", "data-total": "" }, String(c.requests)),
            h("td", { class: "num" }, `${c.incidents.length}${c.incidents.some((i) => i.open) ? " (open)" : ""}`),
            h("td", null, formatTime(c.lastMs)),
          );
        }),
        "No injection attempt in this range.",
      ),
    );
  }

  void load();
  let pending: ReturnType<typeof setTimeout> | undefined;
  const close = subscribe(
    { events: "all" },
    {
      onUpdate: () => {},
      onEvents: (incoming) => {
        const relevant = (incoming as EventRecord[]).some((e) => e.domain === "login" || e.domain === "content");
        if (relevant && pending === undefined) pending = setTimeout(() => ((pending = undefined), void load()), 1000);
      },
      onResync: () => void load(),
    },
  );
  return () => {
    stopped = true;
    clearTimeout(pending);
    close();
  };
}
