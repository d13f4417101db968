// Events on the dashboard: the filters of the Events page as an API query, which live
// events pass them, and the evidence of one event as rows to show.

export interface Evidence {
  fields?: Record<string, string>;
  counts?: Record<string, number>;
  examples?: string[];
  first_ms?: number | null;
  last_ms?: number | null;
}

export interface EventRecord {
  id: number;
  time?: string;
  timestamp_ms: number;
  kind: string;
  domain: string;
  entity: Record<string, string>;
  severity: string;
  score: number | null;
  summary: string;
  evidence: Evidence;
}

export interface EventFilters {
  kind: string;
  domain: string;
  severity: string;
  /** Text matched against the entity's `name=value` pairs (e.g. `web-1`, `host=web-1`). */
  entity: string;
  /** How far back, as `now-<range>` (15m, 1h, 24h, 7d). */
  range: string;
}

export const EMPTY_FILTERS: EventFilters = { kind: "", domain: "", severity: "", entity: "", range: "24h" };

/** The `GET /api/v1/events` query string of the filters (entity text stays client-side). */
export function eventsQuery(filters: EventFilters, cursor?: string | null, limit = 100): string {
  const search = new URLSearchParams();
  search.set("from", `now-${filters.range || "24h"}`);
  for (const key of ["kind", "domain", "severity"] as const) {
    const value = filters[key].trim();
    if (value) search.set(key, value);
  }
  search.set("limit", String(limit));
  if (cursor) search.set("cursor", cursor);
  return `?${search.toString()}`;
}

/** Whether an event passes the filters (used for live events and the entity text). */
export function passes(event: EventRecord, filters: EventFilters, nowMs: number, rangeMs: number): boolean {
  const within = (wanted: string, value: string) =>
    !wanted.trim() || wanted.split(",").map((part) => part.trim()).includes(value);
  if (!within(filters.kind, event.kind) || !within(filters.domain, event.domain) || !within(filters.severity, event.severity)) {
    return false;
  }
  if (event.timestamp_ms < nowMs - rangeMs) return false;
  const text = filters.entity.trim().toLowerCase();
  if (!text) return true;
  return Object.entries(event.entity).some(([name, value]) => `${name}=${value}`.toLowerCase().includes(text));
}

/** The entity as `name=value` pairs, sorted by name. */
export function entityText(entity: Record<string, string>): string {
  return Object.keys(entity)
    .sort()
    .map((name) => `${name}=${entity[name]}`)
    .join(", ");
}

/** The evidence as [section, name, value] rows: counts, fields, then the time span. */
export function evidenceRows(evidence: Evidence): Array<[string, string, string]> {
  const rows: Array<[string, string, string]> = [];
  for (const name of Object.keys(evidence.counts ?? {}).sort()) rows.push(["count", name, String(evidence.counts![name])]);
  for (const name of Object.keys(evidence.fields ?? {}).sort()) rows.push(["field", name, evidence.fields![name]]);
  if (evidence.first_ms != null) rows.push(["time", "first", new Date(evidence.first_ms).toISOString()]);
  if (evidence.last_ms != null) rows.push(["time", "last", new Date(evidence.last_ms).toISOString()]);
  return rows;
}

/** Adds live events to a newest-first list, without duplicates, keeping at most `max`. */
export function mergeNewest(list: EventRecord[], incoming: EventRecord[], max = 500): EventRecord[] {
  const seen = new Set(list.map((event) => event.id));
  const merged = [...incoming.filter((event) => !seen.has(event.id)), ...list];
  merged.sort((a, b) => b.timestamp_ms - a.timestamp_ms || b.id - a.id);
  return merged.slice(0, max);
}
