// Typed calls to lookout's HTTP API. Every answer is Prometheus' envelope
// {"status": "success", "data": ...} or {"status": "error", "errorType", "error"}.

import type { EventRecord } from "./events";
import type { MatrixRow } from "./logs";
import type { AnomalyLike, ChartSeries, Labels } from "./transform";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

const CSRF_KEY = "lookout-csrf";

/** The signed-in session's CSRF token (sent as X-CSRF-Token on every POST and DELETE). */
export function csrfToken(): string | null {
  try {
    return sessionStorage.getItem(CSRF_KEY);
  } catch {
    return null;
  }
}

export function setCsrfToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(CSRF_KEY, token);
    else sessionStorage.removeItem(CSRF_KEY);
  } catch {
    // storage unavailable: the token lives as long as the page
  }
}

let onUnauthorized: (() => void) | null = null;

/** What to do when an API call answers 401 (the dashboard shows its sign-in form). */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

/** `init` with X-CSRF-Token added to a state-changing request when signed in. */
export function withCsrf(init: RequestInit | undefined, token: string | null): RequestInit | undefined {
  const method = (init?.method ?? "GET").toUpperCase();
  if (!token || method === "GET" || method === "HEAD") return init;
  const headers = new Headers(init?.headers);
  headers.set("x-csrf-token", token);
  return { ...init, headers };
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, withCsrf(init, csrfToken()));
  if (response.status === 401 && !path.startsWith("/api/v1/session")) onUnauthorized?.();
  const text = await response.text();
  let body: { status?: string; data?: T; error?: string; errorType?: string } | null = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok || body?.status === "error") {
    throw new ApiError(response.status, body?.errorType ?? "http", body?.error ?? `${path}: HTTP ${response.status}`);
  }
  return (body?.data ?? body) as T;
}

export const get = <T>(path: string) => call<T>(path);

export const post = <T>(path: string, json: unknown) =>
  call<T>(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(json) });

export const del = <T>(path: string) => call<T>(path, { method: "DELETE" });

export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") search.set(k, String(v));
  const text = search.toString();
  return text ? `?${text}` : "";
}

export interface DomainCounts {
  series: number;
  open_anomalies: number;
  anomalies_24h: number;
  max_score: number | null;
}

export interface MachineSummary extends DomainCounts {
  machine: string | null;
  status: string;
  last_seen_ms: number | null;
  domains: Record<string, DomainCounts>;
}

export interface Overview {
  now_ms: number;
  totals: { series: number; machines: number; open_anomalies: number; anomalies_24h: number };
  machines: MachineSummary[];
}

export interface Explanation {
  detectors: { detector: string; raw: number; likelihood: number; fired: boolean }[];
  features: { feature: string; share: number }[];
}

export interface Anomaly extends AnomalyLike {
  start: string;
  end: string | null;
  explanation: Explanation;
}

export interface AnomalyDetail {
  anomaly: Anomaly;
  feedback: { id: number; label: string; note: string; created_ms: number }[];
  tolerance: number | null;
}

export interface ChartAnswer {
  start_ms: number;
  end_ms: number;
  max_points: number;
  matched: number;
  series: (ChartSeries & { min: (number | null)[]; max: (number | null)[] })[];
  anomalies: Anomaly[];
}

/** `/api/v1/machines` (usage states and right-sizing hints), when the server has it. */
export interface MachineUsage {
  machine: string;
  series?: string;
  state: string;
  since_ms?: number | null;
  last_ms?: number | null;
  cpu_percent?: number | null;
  hint?: { action: string; message: string; threshold_percent?: number; low_since_ms?: number; peak_percent?: number } | null;
}

export type { Labels };

export const api = {
  overview: () => get<Overview>("/api/v1/overview"),
  chart: (p: { match: string; start: number; end: number; max_points: number; limit?: number }) =>
    get<ChartAnswer>(`/api/v1/chart${query({ ...p, start: p.start / 1000, end: p.end / 1000 })}`),
  names: () => get<string[]>("/api/v1/label/__name__/values"),
  anomalies: (p: { from: number; to: number; match?: string; limit?: number }) =>
    get<Anomaly[]>(`/api/v1/anomalies${query({ ...p, from: p.from / 1000, to: p.to / 1000 })}`),
  anomaly: (id: number) => get<AnomalyDetail>(`/api/v1/anomalies/${id}`),
  feedback: (id: number, label: string, note = "") =>
    post<{ status: string }>(`/api/v1/anomalies/${id}/feedback`, { label, note }),
  machines: () => get<MachineUsage[] | { machines: MachineUsage[] }>("/api/v1/machines"),
};

/** Events matching `params` (`GET /api/v1/events`: from, kind, domain, match[], ...),
 *  newest first, following the cursor for at most `maxPages` pages of 1,000. */
export async function allEvents(params: Record<string, string | number | undefined | null>, maxPages = 5): Promise<EventRecord[]> {
  let events: EventRecord[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < maxPages; page++) {
    const answer: { events: EventRecord[]; next_cursor: string | null } = await get(`/api/v1/events${query({ ...params, limit: 1000, cursor })}`);
    events = events.concat(answer.events);
    cursor = answer.next_cursor;
    if (!cursor) break;
  }
  return events;
}

let documented: Promise<Set<string>> | null = null;

/** Whether this server routes `method path` (from its OpenAPI document), so that pages
 *  for features a server lacks show an empty state instead of failing requests. */
export async function hasRoute(method: string, path: string): Promise<boolean> {
  documented ??= get<{ paths: Record<string, Record<string, unknown>> }>("/api/openapi.json")
    .then((doc) => {
      const set = new Set<string>();
      for (const [p, item] of Object.entries(doc.paths ?? {})) for (const m of Object.keys(item)) set.add(`${m.toUpperCase()} ${p}`);
      return set;
    })
    .catch(() => new Set<string>());
  return (await documented).has(`${method.toUpperCase()} ${path}`);
}

/** A PromQL expression (a range selector, say) evaluated at one instant: its matrix rows. */
export async function matrixAt(expr: string, atMs: number): Promise<MatrixRow[]> {
  const answer = await get<{ result: MatrixRow[] }>(`/api/v1/query${query({ query: expr, time: atMs / 1000 })}`);
  return answer.result;
}
