import { describe, expect, it } from "vitest";
import { EMPTY_FILTERS, entityText, eventsQuery, evidenceRows, mergeNewest, passes, type EventRecord } from "./events";

function event(id: number, host: string, kind = "ssh_bruteforce", ts = 1_000_000): EventRecord {
  return {
    id,
    timestamp_ms: ts,
    kind,
    domain: kind === "syn_flood" ? "network" : "login",
    entity: { host, source_ip: "203.0.113.9" },
    severity: "warning",
    score: null,
    summary: `failed logins on ${host}`,
    evidence: { counts: { failures: 37 }, fields: { users_tried: "root,admin" }, examples: ["Failed password"], first_ms: 0, last_ms: 60_000 },
  };
}

describe("events page", () => {
  it("turns filters into the API query, relative to now", () => {
    expect(eventsQuery({ ...EMPTY_FILTERS, kind: "ssh_bruteforce", severity: "critical,warning", range: "1h" })).toBe(
      "?from=now-1h&kind=ssh_bruteforce&severity=critical%2Cwarning&limit=100",
    );
    expect(eventsQuery(EMPTY_FILTERS, "1700.4", 50)).toBe("?from=now-24h&limit=50&cursor=1700.4");
  });

  it("filters live events like the server, and the entity text client-side", () => {
    const now = 2_000_000;
    const day = 86_400_000;
    expect(passes(event(1, "web-1"), EMPTY_FILTERS, now, day)).toBe(true);
    expect(passes(event(1, "web-1"), { ...EMPTY_FILTERS, kind: "syn_flood" }, now, day)).toBe(false);
    expect(passes(event(1, "web-1", "syn_flood"), { ...EMPTY_FILTERS, kind: "ssh_bruteforce, syn_flood" }, now, day)).toBe(true);
    expect(passes(event(1, "web-1"), { ...EMPTY_FILTERS, entity: "host=web-1" }, now, day)).toBe(true);
    expect(passes(event(1, "web-1"), { ...EMPTY_FILTERS, entity: "WEB-2" }, now, day)).toBe(false);
    expect(passes(event(1, "web-1", "ssh_bruteforce", 0), EMPTY_FILTERS, now, 1000)).toBe(false);
  });

  it("shows the evidence as rows and the entity as pairs", () => {
    expect(evidenceRows(event(1, "a").evidence)).toEqual([
      ["count", "failures", "37"],
      ["field", "users_tried", "root,admin"],
      ["time", "first", "1970-01-01T00:00:00.000Z"],
      ["time", "last", "1970-01-01T00:01:00.000Z"],
    ]);
    expect(evidenceRows({})).toEqual([]);
    expect(entityText({ source_ip: "1.2.3.4", host: "a" })).toBe("host=a, source_ip=1.2.3.4");
  });

  it("merges live events newest first without duplicates", () => {
    const list = [event(2, "a", "ssh_bruteforce", 20), event(1, "a", "ssh_bruteforce", 10)];
    const merged = mergeNewest(list, [event(3, "b", "ssh_bruteforce", 30), event(2, "a", "ssh_bruteforce", 20)], 2);
    expect(merged.map((e) => e.id)).toEqual([3, 2]);
  });
});
