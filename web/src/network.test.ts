import { describe, expect, it } from "vitest";
import type { EventRecord } from "./events";
import type { MatrixRow } from "./logs";
import { attackFacts, attackLabel, attacks, capturePoints, findPoint, parseTopSources, pointMatcher, timelinePosition, topTalkers } from "./network";

function row(metric: Record<string, string>, points: [number, number][]): MatrixRow {
  return { metric, values: points.map(([t, v]) => [t, String(v)]) };
}

let nextId = 1;
function event(kind: string, evidence: EventRecord["evidence"], ts: number, entity: Record<string, string> = {}): EventRecord {
  return { id: nextId++, timestamp_ms: ts, kind, domain: "traffic", entity, severity: "critical", score: null, summary: kind, evidence };
}

describe("network page", () => {
  it("lists the capture points, live interfaces first, and scopes series to one", () => {
    const points = capturePoints({ interface: ["eth1", "eth0"], capture: ["day.pcap"] });
    expect(points.map((p) => `${p.label}=${p.value}`)).toEqual(["interface=eth0", "interface=eth1", "capture=day.pcap"]);
    expect(findPoint(points, "capture=day.pcap")).toEqual({ label: "capture", value: "day.pcap" });
    expect(findPoint(points, "interface=lo")).toBeUndefined();
    expect(pointMatcher({ label: "capture", value: 'a"b.pcap' })).toBe('capture="a\\"b.pcap"');
    expect(capturePoints({})).toEqual([]);
  });

  it("ranks the talkers of the last second against their median, an unreported second counting as none", () => {
    const grid = [1000, 2000, 3000, 4000, 5000];
    const talkers = topTalkers(
      [
        row({ source: "192.0.2.10" }, [[1, 120], [2, 118], [3, 122], [4, 121], [5, 119]]),
        row({ source: "203.0.113.5" }, [[5, 800]]),
        row({ source: "198.51.100.9" }, [[1, 500], [2, 500]]),
      ],
      "source",
      grid,
    );
    expect(talkers.map((t) => [t.key, t.now, t.normal])).toEqual([
      ["203.0.113.5", 800, 0],
      ["192.0.2.10", 119, 120],
    ]);
  });

  it("reads an attack's evidence: victim, trigger, spoofing, service, shares, rates, packets", () => {
    const amplification = event(
      "udp_amplification",
      {
        fields: { victim: "198.51.100.2:40000", trigger: "baseline", spoofed: "no", service: "dns", top_sources: "203.0.113.5 (33.4%), 2001:db8::53 (33.3%), odd" },
        counts: { packets_per_second: 2400, victim_packets_per_second: 2400, bits_per_second: 9_600_000, baseline_packets_per_second: 20, distinct_sources: 3, distinct_source_ports: 1, extra_thing: 4 },
        examples: ["203.0.113.5:53 > 198.51.100.2:40000 UDP 500 B"],
      },
      10,
    );
    const facts = attackFacts(amplification);
    expect(facts).toMatchObject({ victim: "198.51.100.2:40000", trigger: "baseline", spoofed: "no", service: "dns", packets: ["203.0.113.5:53 > 198.51.100.2:40000 UDP 500 B"] });
    expect(facts.topSources).toEqual([
      { source: "203.0.113.5", share: expect.closeTo(0.334, 6) },
      { source: "2001:db8::53", share: expect.closeTo(0.333, 6) },
      { source: "odd", share: null },
    ]);
    expect(facts.rates.map((r) => r.name)).toEqual([
      "packets_per_second",
      "victim_packets_per_second",
      "bits_per_second",
      "baseline_packets_per_second",
      "distinct_sources",
      "distinct_source_ports",
      "extra_thing",
    ]);
    // A port scan names its one source, without a share.
    const scan = attackFacts(event("port_scan", { fields: { source: "192.0.2.99", trigger: "ceiling" }, counts: { distinct_ports: 400 } }, 5, { source: "192.0.2.99" }));
    expect(scan.topSources).toEqual([{ source: "192.0.2.99", share: null }]);
    expect(scan.victim).toBeNull();
    expect(scan.rates).toEqual([{ name: "distinct_ports", label: "distinct destination ports", value: 400 }]);
    expect(parseTopSources(undefined)).toEqual([]);
  });

  it("keeps the network attacks newest first and places them on the timeline", () => {
    const syn = event("syn_flood", {}, 100);
    const conn = event("connection_attack", {}, 300);
    const login = event("ssh_bruteforce", {}, 200);
    expect(attacks([syn, login, conn]).map((e) => e.kind)).toEqual(["connection_attack", "syn_flood"]);
    expect(attackLabel("syn_flood")).toBe("SYN flood");
    expect(attackLabel("something_new")).toBe("something_new");
    expect(timelinePosition(150, 100, 200)).toBe(50);
    expect(timelinePosition(50, 100, 200)).toBe(0);
    expect(timelinePosition(250, 100, 200)).toBe(100);
  });
});
