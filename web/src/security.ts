// The Security page's numbers, from stored events and series answers: login incidents,
// users targeted, injection incidents by client and kind, and the top attacking
// addresses (login failures and injection attempts side by side). Pure functions.

import type { EventRecord } from "./events";

/** The kinds lookout-auth's login detectors raise. */
export const LOGIN_KINDS = ["ssh_bruteforce", "ssh_bruteforce_fast", "ssh_bruteforce_slow", "ssh_user_enumeration", "ssh_success_after_failures", "ssh_new_source_network"];
export const INJECTION_KIND = "content_injection";
export const ATTACK_KINDS = ["sqli", "xss", "traversal", "cmdi", "ssti"];

/** What people call each login finding. */
export function incidentLabel(kind: string): string {
  switch (kind) {
    case "ssh_bruteforce":
      return "brute force";
    case "ssh_bruteforce_fast":
      return "fast brute force";
    case "ssh_bruteforce_slow":
      return "slow brute force";
    case "ssh_user_enumeration":
      return "user enumeration";
    case "ssh_success_after_failures":
      return "success after failures";
    case "ssh_new_source_network":
      return "login from a new network";
    default:
      return kind;
  }
}

export function isLoginIncident(event: EventRecord): boolean {
  return LOGIN_KINDS.includes(event.kind);
}

/** The login incidents, newest first. */
export function loginIncidents(events: EventRecord[]): EventRecord[] {
  return events.filter(isLoginIncident).sort((a, b) => b.timestamp_ms - a.timestamp_ms || b.id - a.id);
}

export interface TargetedUser {
  user: string;
  /** Login incidents naming the user. */
  incidents: number;
  /** Distinct source addresses of those incidents. */
  sources: string[];
  /** A login succeeded after failures (the incident that matters most). */
  compromised: boolean;
}

/** Users named by login incidents (`users_tried`, `logged_in_user`), most incidents first. */
export function usersTargeted(events: EventRecord[]): TargetedUser[] {
  const users = new Map<string, { incidents: number; sources: Set<string>; compromised: boolean }>();
  for (const event of events.filter(isLoginIncident)) {
    const fields = event.evidence.fields ?? {};
    const names = new Set((fields.users_tried ?? "").split(",").map((u) => u.trim()).filter(Boolean));
    if (fields.logged_in_user) names.add(fields.logged_in_user);
    const source = event.entity.source_ip ?? fields.source_ip ?? "";
    for (const name of names) {
      const entry = users.get(name) ?? { incidents: 0, sources: new Set<string>(), compromised: false };
      entry.incidents += 1;
      if (source) entry.sources.add(source);
      if (event.kind === "ssh_success_after_failures" && fields.logged_in_user === name) entry.compromised = true;
      users.set(name, entry);
    }
  }
  return [...users.entries()]
    .map(([user, e]) => ({ user, incidents: e.incidents, sources: [...e.sources].sort(), compromised: e.compromised }))
    .sort((a, b) => Number(b.compromised) - Number(a.compromised) || b.incidents - a.incidents || a.user.localeCompare(b.user));
}

export interface InjectionIncident {
  client: string;
  /** The event showing the incident: the closing one when it closed, else the opening one. */
  event: EventRecord;
  open: boolean;
  requests: number;
  byKind: Record<string, number>;
  firstMs: number;
  lastMs: number;
}

/** Injection incidents: each client's opening and closing events (same `first_ms`) paired. */
export function injectionIncidents(events: EventRecord[]): InjectionIncident[] {
  const incidents = new Map<string, InjectionIncident>();
  for (const event of events) {
    if (event.kind !== INJECTION_KIND) continue;
    const client = event.entity.client ?? "-";
    const firstMs = event.evidence.first_ms ?? event.timestamp_ms;
    const key = `${client} ${firstMs}`;
    const closed = event.evidence.fields?.incident === "closed";
    const known = incidents.get(key);
    if (known && !known.open) continue;
    if (known && !closed) continue;
    const byKind: Record<string, number> = {};
    for (const kind of ATTACK_KINDS) {
      const n = event.evidence.counts?.[kind];
      if (n) byKind[kind] = n;
    }
    incidents.set(key, {
      client,
      event,
      open: !closed,
      requests: event.evidence.counts?.requests ?? 1,
      byKind,
      firstMs,
      lastMs: event.evidence.last_ms ?? event.timestamp_ms,
    });
  }
  return [...incidents.values()].sort((a, b) => b.lastMs - a.lastMs);
}

export interface InjectionClient {
  client: string;
  requests: number;
  byKind: Record<string, number>;
  incidents: InjectionIncident[];
  lastMs: number;
}

/** Injection attempts per client (over its incidents), most attempts first. */
export function injectionByClient(incidents: InjectionIncident[]): InjectionClient[] {
  const clients = new Map<string, InjectionClient>();
  for (const incident of incidents) {
    const entry = clients.get(incident.client) ?? { client: incident.client, requests: 0, byKind: {}, incidents: [], lastMs: 0 };
    entry.requests += incident.requests;
    for (const [kind, n] of Object.entries(incident.byKind)) entry.byKind[kind] = (entry.byKind[kind] ?? 0) + n;
    entry.incidents.push(incident);
    entry.lastMs = Math.max(entry.lastMs, incident.lastMs);
    clients.set(incident.client, entry);
  }
  return [...clients.values()].sort((a, b) => b.requests - a.requests || a.client.localeCompare(b.client));
}

/** Injection attempts per kind, over all clients. */
export function kindTotals(clients: InjectionClient[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const kind of ATTACK_KINDS) totals[kind] = 0;
  for (const client of clients) for (const [kind, n] of Object.entries(client.byKind)) totals[kind] = (totals[kind] ?? 0) + n;
  return totals;
}

export interface Attacker {
  ip: string;
  loginFailures: number;
  injections: number;
  loginIncidents: number;
}

/** One row of a Prometheus vector answer. */
export interface VectorRow {
  metric: Record<string, string>;
  value: [number, string];
}

/** The top attacking addresses: login failures per source (a vector by `source_ip`) and
 *  injection attempts per client, merged by address, heaviest first. */
export function topAttackers(failures: VectorRow[], clients: InjectionClient[], logins: EventRecord[], limit = 10): Attacker[] {
  const rows = new Map<string, Attacker>();
  const row = (ip: string) => {
    const known = rows.get(ip);
    if (known) return known;
    const fresh = { ip, loginFailures: 0, injections: 0, loginIncidents: 0 };
    rows.set(ip, fresh);
    return fresh;
  };
  for (const r of failures) {
    const ip = r.metric.source_ip;
    const n = Math.round(Number(r.value[1]));
    if (ip && Number.isFinite(n) && n > 0) row(ip).loginFailures += n;
  }
  for (const c of clients) row(c.client).injections += c.requests;
  for (const e of logins.filter(isLoginIncident)) {
    const ip = e.entity.source_ip ?? e.evidence.fields?.source_ip;
    if (ip) row(ip).loginIncidents += 1;
  }
  return [...rows.values()]
    .sort((a, b) => b.loginFailures + b.injections - (a.loginFailures + a.injections) || a.ip.localeCompare(b.ip))
    .slice(0, limit);
}

/** A range answer's points summed over its series, as [unix ms, value] buckets. */
export function sumBuckets(result: { values: [number, string][] }[]): Array<[number, number]> {
  const sums = new Map<number, number>();
  for (const series of result) {
    for (const [t, v] of series.values) {
      const n = Number(v);
      if (Number.isFinite(n)) sums.set(t * 1000, (sums.get(t * 1000) ?? 0) + n);
    }
  }
  return [...sums.entries()].sort((a, b) => a[0] - b[0]);
}
