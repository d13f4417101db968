import { describe, expect, it } from "vitest";
import type { EventRecord } from "./events";
import { injectionByClient, injectionIncidents, kindTotals, loginIncidents, sumBuckets, topAttackers, usersTargeted } from "./security";

let nextId = 1;
function event(kind: string, entity: Record<string, string>, evidence: EventRecord["evidence"], ts = 1_000_000): EventRecord {
  return { id: nextId++, timestamp_ms: ts, kind, domain: kind === "content_injection" ? "content" : "login", entity, severity: "warning", score: null, summary: kind, evidence };
}

const brute = event("ssh_bruteforce", { source_ip: "203.0.113.5" }, { fields: { users_tried: "root,admin" }, counts: { failures: 6 } }, 1_000);
const enumeration = event("ssh_user_enumeration", { source_ip: "203.0.113.6" }, { fields: { users_tried: "admin,oracle,test" }, counts: { failures: 9 } }, 2_000);
const success = event("ssh_success_after_failures", { source_ip: "203.0.113.5", user: "deploy" }, { fields: { users_tried: "root,admin", logged_in_user: "deploy" } }, 3_000);
const opened = event("content_injection", { client: "198.51.100.7" }, { fields: { incident: "open", attack_kind: "sqli" }, counts: { requests: 1, sqli: 1 }, first_ms: 10_000, last_ms: 10_000 }, 10_000);
const closed = event("content_injection", { client: "198.51.100.7" }, { fields: { incident: "closed", attack_kind: "sqli" }, counts: { requests: 45, sqli: 40, xss: 5 }, first_ms: 10_000, last_ms: 20_000 }, 20_000);
const stillOpen = event("content_injection", { client: "198.51.100.8" }, { fields: { incident: "open", attack_kind: "traversal" }, counts: { requests: 1, traversal: 1 }, first_ms: 15_000, last_ms: 15_000 }, 15_000);
const all = [closed, stillOpen, success, opened, enumeration, brute];

describe("security page", () => {
  it("lists login incidents newest first and the users they target", () => {
    expect(loginIncidents(all).map((e) => e.kind)).toEqual(["ssh_success_after_failures", "ssh_user_enumeration", "ssh_bruteforce"]);
    const users = usersTargeted(all);
    expect(users[0]).toEqual({ user: "deploy", incidents: 1, sources: ["203.0.113.5"], compromised: true });
    const admin = users.find((u) => u.user === "admin")!;
    expect(admin.incidents).toBe(3);
    expect(admin.sources).toEqual(["203.0.113.5", "203.0.113.6"]);
  });

  it("pairs an incident's opening and closing events and counts by client and kind", () => {
    const incidents = injectionIncidents(all);
    expect(incidents).toHaveLength(2);
    const sqlmap = incidents.find((i) => i.client === "198.51.100.7")!;
    expect(sqlmap.open).toBe(false);
    expect(sqlmap.requests).toBe(45);
    expect(sqlmap.event.id).toBe(closed.id);
    // The same pairing whichever order the events come in.
    expect(injectionIncidents([opened, closed])[0].event.id).toBe(closed.id);
    const clients = injectionByClient(incidents);
    expect(clients.map((c) => [c.client, c.requests])).toEqual([["198.51.100.7", 45], ["198.51.100.8", 1]]);
    expect(kindTotals(clients)).toEqual({ sqli: 40, xss: 5, traversal: 1, cmdi: 0, ssti: 0 });
  });

  it("merges login failures and injection attempts per address", () => {
    const failures = [
      { metric: { source_ip: "203.0.113.5" }, value: [0, "12"] as [number, string] },
      { metric: { source_ip: "203.0.113.6" }, value: [0, "9"] as [number, string] },
    ];
    const attackers = topAttackers(failures, injectionByClient(injectionIncidents(all)), all);
    expect(attackers.map((a) => a.ip)).toEqual(["198.51.100.7", "203.0.113.5", "203.0.113.6", "198.51.100.8"]);
    expect(attackers[1]).toEqual({ ip: "203.0.113.5", loginFailures: 12, injections: 0, loginIncidents: 2 });
  });

  it("sums a range answer's series per timestamp", () => {
    const buckets = sumBuckets([
      { values: [[10, "1"], [20, "2"]] },
      { values: [[20, "3"], [30, "NaN"]] },
    ]);
    expect(buckets).toEqual([[10_000, 1], [20_000, 5]]);
  });
});
