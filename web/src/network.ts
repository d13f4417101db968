// The Network page's numbers, from API answers: the capture points a packet capture
// wrote series for, the top sources and destinations now against the median of the
// hour, the attack events and what each one's evidence says (victim, trigger,
// spoofing, top sources with their shares, reflected service, rates, first packets).
// Pure functions (network.test.ts).

import type { EventRecord } from "./events";
import { nowVsNormal, type MatrixRow, type NowVsNormal } from "./logs";
import { quoteLabel } from "./transform";

/** The event kinds of attacks on the network: lookout-net's floods and scans, the
 *  access logs' HTTP floods and the connection records' attacks. */
export const NETWORK_KINDS = [
  "syn_flood",
  "udp_flood",
  "udp_amplification",
  "icmp_flood",
  "fin_flood",
  "rst_flood",
  "push_ack_flood",
  "fragment_flood",
  "port_scan",
  "syn_ack_reflection",
  "http_flood",
  "connection_attack",
];
/** `net_packets_per_second`'s `protocol` values, in the order the page shows them. */
export const PROTOCOLS = ["all", "tcp", "udp", "icmp", "other"];
/** `net_tcp_flags_per_second`'s `flags` values, in the order the page shows them. */
export const TCP_FLAGS = ["syn", "syn_ack", "ack", "psh_ack", "fin", "rst", "ecn", "odd"];
/** The labels naming where packets were captured: live (`interface`) or a file (`capture`). */
export const POINT_LABELS = ["interface", "capture"];

/** What people call each attack kind. */
export function attackLabel(kind: string): string {
  const names: Record<string, string> = {
    syn_flood: "SYN flood",
    udp_flood: "UDP flood",
    udp_amplification: "UDP amplification",
    icmp_flood: "ICMP flood",
    fin_flood: "FIN flood",
    rst_flood: "RST flood",
    push_ack_flood: "PSH-ACK flood",
    fragment_flood: "fragment flood",
    port_scan: "port scan",
    syn_ack_reflection: "SYN-ACK reflection",
    http_flood: "HTTP flood",
    connection_attack: "connection attack",
  };
  return names[kind] ?? kind;
}

/** A capture point as the page names it (`interface=eth0`, `capture=day.pcap`). */
export interface CapturePoint {
  label: string;
  value: string;
}

/** The capture points from the values of each point label, live interfaces first. */
export function capturePoints(values: Record<string, string[]>): CapturePoint[] {
  return POINT_LABELS.flatMap((label) => [...(values[label] ?? [])].sort().map((value) => ({ label, value })));
}

export const pointText = (point: CapturePoint) => `${point.label}=${point.value}`;

/** The point named by `text` (`interface=eth0`), when it is one of `points`. */
export function findPoint(points: CapturePoint[], text: string): CapturePoint | undefined {
  return points.find((p) => pointText(p) === text);
}

/** The selector matchers of a point, without braces: `interface="eth0"`. */
export function pointMatcher(point: CapturePoint): string {
  return `${point.label}=${quoteLabel(point.value)}`;
}

/**
 * Each source (or destination) the capture reported in the last second of `grid`, by
 * packets, against its median over the grid's seconds. A second without a sample of it
 * counts as none: the capture reports an address only when it holds at least 1 % and
 * 100 packets of the second, so it sent less than that then.
 */
export function topTalkers(matrix: MatrixRow[], label: string, grid: number[], limit = 10): NowVsNormal[] {
  return nowVsNormal(matrix, label, grid, 0)
    .filter((row) => (row.now ?? 0) > 0)
    .sort((a, b) => (b.now ?? 0) - (a.now ?? 0) || a.key.localeCompare(b.key))
    .slice(0, limit);
}

/** The network attacks among `events`, newest first. */
export function attacks(events: EventRecord[]): EventRecord[] {
  return events.filter((e) => NETWORK_KINDS.includes(e.kind)).sort((a, b) => b.timestamp_ms - a.timestamp_ms || b.id - a.id);
}

/** One of an attack's top sources with its share of the attack's packets (0..1). */
export interface SourceShare {
  source: string;
  share: number | null;
}

/** The `top_sources` field, `203.0.113.5 (41.2%), 2001:db8::1 (3.0%)`, as sources and shares. */
export function parseTopSources(text: string | undefined): SourceShare[] {
  if (!text) return [];
  return text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const match = /^(.*?)\s*\(([\d.]+)\s*%\)$/.exec(part);
      return match ? { source: match[1], share: Number(match[2]) / 100 } : { source: part, share: null };
    });
}

/** What an attack event's evidence says, in the page's terms (null where it is silent). */
export interface AttackFacts {
  victim: string | null;
  trigger: string | null;
  spoofed: string | null;
  service: string | null;
  topSources: SourceShare[];
  /** The rates and counts, in the order the page shows them, present ones only. */
  rates: { name: string; label: string; value: number }[];
  /** The first packets, tcpdump style. */
  packets: string[];
}

const RATES: [string, string][] = [
  ["packets_per_second", "packets/s"],
  ["victim_packets_per_second", "packets/s to the victim"],
  ["bits_per_second", "bits/s"],
  ["baseline_packets_per_second", "usual packets/s (baseline)"],
  ["distinct_sources", "distinct sources"],
  ["distinct_source_ports", "distinct source ports"],
  ["distinct_ports", "distinct destination ports"],
];

export function attackFacts(event: EventRecord): AttackFacts {
  const fields = event.evidence.fields ?? {};
  const counts = event.evidence.counts ?? {};
  const known = new Set(RATES.map(([name]) => name));
  const rates = RATES.filter(([name]) => counts[name] !== undefined).map(([name, label]) => ({ name, label, value: counts[name] }));
  for (const name of Object.keys(counts).sort()) if (!known.has(name)) rates.push({ name, label: name.replaceAll("_", " "), value: counts[name] });
  return {
    victim: fields.victim ?? event.entity.victim ?? null,
    trigger: fields.trigger ?? null,
    spoofed: fields.spoofed ?? null,
    service: fields.service ?? null,
    topSources: parseTopSources(fields.top_sources ?? fields.source ?? event.entity.source),
    rates,
    packets: event.evidence.examples ?? [],
  };
}

/** Where an event sits on a timeline from `from` to `to`, in percent (clamped). */
export function timelinePosition(timestampMs: number, from: number, to: number): number {
  if (to <= from) return 100;
  return Math.max(0, Math.min(100, ((timestampMs - from) / (to - from)) * 100));
}
