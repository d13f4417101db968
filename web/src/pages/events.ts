// Events: stored events newest first, filtered by kind, domain, severity, time range and
// entity text, with live additions from the stream and a detail view of the evidence
// (counts, fields, first and last time, raw examples). `?id=N` opens one event.

import { get } from "../api";
import { h, replace } from "../dom";
import { EMPTY_FILTERS, entityText, eventsQuery, evidenceRows, mergeNewest, passes, type EventFilters, type EventRecord } from "../events";
import { subscribe } from "../live";
import { navigate } from "../nav";
import { formatTime, parseDuration } from "../transform";

interface EventPage {
  events: EventRecord[];
  next_cursor: string | null;
}

const RANGES = ["15m", "1h", "6h", "24h", "7d", "30d"];
const SEVERITIES = ["", "info", "warning", "critical"];
const DOMAINS = ["", "cpu", "memory", "network", "storage", "login", "content", "traffic", "log", "other"];

function filtersFrom(params: URLSearchParams): EventFilters {
  return {
    kind: params.get("kind") ?? "",
    domain: params.get("domain") ?? "",
    severity: params.get("severity") ?? "",
    entity: params.get("entity") ?? "",
    range: RANGES.includes(params.get("range") ?? "") ? params.get("range")! : EMPTY_FILTERS.range,
  };
}

function pageUrl(filters: EventFilters, id?: number): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value && !(key === "range" && value === EMPTY_FILTERS.range)) search.set(key, value);
  if (id !== undefined) search.set("id", String(id));
  const text = search.toString();
  return text ? `/events?${text}` : "/events";
}

/** One event's evidence: summary, entity, counts, fields, time span, raw examples. */
export function detail(event: EventRecord): HTMLElement {
  const rows = evidenceRows(event.evidence);
  const examples = event.evidence.examples ?? [];
  return h(
    "section",
    { class: "detail", "data-testid": "event-detail", "data-event": event.id },
    h("h2", null, `${event.kind} #${event.id}`),
    h("p", null, event.summary || "(no summary)"),
    h(
      "dl",
      null,
      h("dt", null, "Time"), h("dd", null, formatTime(event.timestamp_ms)),
      h("dt", null, "Entity"), h("dd", null, entityText(event.entity) || "–"),
      h("dt", null, "Domain"), h("dd", null, event.domain),
      h("dt", null, "Severity"), h("dd", null, h("span", { class: `status ${event.severity}` }, event.severity)),
      h("dt", null, "Score"), h("dd", null, event.score == null ? "–" : event.score.toFixed(3)),
    ),
    h("h3", null, "Evidence"),
    rows.length
      ? h(
          "table",
          { class: "grid", "data-testid": "evidence" },
          h("tbody", null, rows.map(([section, name, value]) => h("tr", null, h("td", { class: "muted" }, section), h("th", { scope: "row" }, name), h("td", null, value)))),
        )
      : h("p", { class: "muted" }, "No structured evidence."),
    examples.length ? [h("h3", null, `Examples (${examples.length})`), h("pre", { "data-testid": "examples" }, examples.join("\n"))] : null,
  );
}

export function renderEvents(root: HTMLElement, params: URLSearchParams): () => void {
  const filters = filtersFrom(params);
  const selected = Number(params.get("id")) || null;
  let events: EventRecord[] = [];
  let next: string | null = null;
  const list = h("div", null, h("p", { class: "loading" }, "Loading…"));
  const side = h("div", { class: "side" });

  const apply = (changed: Partial<EventFilters>) => navigate(pageUrl({ ...filters, ...changed }), true);
  const select = (name: keyof EventFilters, options: string[]) =>
    h(
      "select",
      { "aria-label": name, "data-filter": name, onchange: (e: Event) => apply({ [name]: (e.target as HTMLSelectElement).value }) },
      options.map((value) => h("option", { value, selected: value === filters[name] ? true : null }, value || `any ${name}`)),
    );
  const text = (name: "kind" | "entity", placeholder: string) =>
    h("input", {
      type: "search",
      "aria-label": name,
      "data-filter": name,
      placeholder,
      value: filters[name],
      onchange: (e: Event) => apply({ [name]: (e.target as HTMLInputElement).value }),
    });
  const form = h(
    "form",
    { class: "filters", "data-testid": "event-filters", onsubmit: (e: Event) => e.preventDefault() },
    text("kind", "kind, e.g. ssh_bruteforce"),
    select("domain", DOMAINS),
    select("severity", SEVERITIES),
    select("range", RANGES),
    text("entity", "entity, e.g. host=web-1"),
  );
  replace(root, h("h1", null, "Events"), h("p", { class: "muted" }, "Findings that are not numbers: failed-login bursts, injected requests, floods; newest first."), form, h("div", { class: "split" }, list, side));

  const rangeMs = () => parseDuration(filters.range) ?? 86_400_000;
  function draw(): void {
    const shown = events.filter((event) => passes(event, filters, Date.now(), rangeMs()));
    if (shown.length === 0) {
      replace(list, h("section", { class: "empty", "data-testid": "events-empty" }, h("p", null, "No event matches these filters.")));
      return;
    }
    replace(
      list,
      h(
        "table",
        { class: "grid", "data-testid": "events-table" },
        h("thead", null, h("tr", null, ["Time", "Kind", "Entity", "Severity", "Summary"].map((x) => h("th", { scope: "col" }, x)))),
        h(
          "tbody",
          null,
          shown.map((event) =>
            h(
              "tr",
              { "data-event": event.id, class: event.id === selected ? "selected" : null },
              h("td", null, formatTime(event.timestamp_ms)),
              h("td", null, h("a", { href: pageUrl(filters, event.id), "data-nav": true }, event.kind)),
              h("td", null, entityText(event.entity)),
              h("td", null, h("span", { class: `status ${event.severity}` }, event.severity)),
              h("td", null, event.summary),
            ),
          ),
        ),
      ),
      next ? h("button", { type: "button", "data-testid": "more-events", onclick: () => void load(next) }, "Older events") : null,
    );
  }

  let stopped = false;
  async function load(cursor: string | null = null): Promise<void> {
    try {
      const page = await get<EventPage>(`/api/v1/events${eventsQuery(filters, cursor)}`);
      if (stopped) return;
      events = cursor ? [...events, ...page.events] : page.events;
      next = page.next_cursor;
      draw();
    } catch (error) {
      replace(list, h("p", { class: "error", role: "alert" }, (error as Error).message));
    }
  }
  async function show(id: number): Promise<void> {
    try {
      const event = await get<EventRecord>(`/api/v1/events/${id}`);
      if (!stopped) replace(side, detail(event));
    } catch (error) {
      replace(side, h("p", { class: "error", role: "alert" }, (error as Error).message));
    }
  }

  void load();
  if (selected) void show(selected);
  const close = subscribe(
    { events: "all" },
    {
      onUpdate: () => {},
      onEvents: (incoming) => {
        events = mergeNewest(events, incoming as EventRecord[]);
        draw();
      },
      onResync: () => void load(),
    },
  );
  return () => {
    stopped = true;
    close();
  };
}
