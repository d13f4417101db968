// The Network page in real headless Chromium against its own `lookout serve`. A capture
// of five minutes of steady traffic (three clients talking to a web server, DNS answers,
// handshakes, pings) ending in a spoofed SYN flood on the server and then a DNS
// amplification on another host is written as a pcap file and analysed by `lookout pcap`
// (the packet capture's own analyser); its series are pushed through
// `POST /api/v1/samples` and its events through `POST /api/v1/events`, as a capture
// source would have delivered them.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatValue } from "../src/transform";
import { openBrowser, push, type Browser } from "./browser";

const skip = inject("skip");
const chromium = inject("chromium");
const binary = inject("lookoutBin");

/** Seconds of capture (odd, so that every median is one second's value). */
const SECONDS = 301;
const SYN_FLOOD = { from: SECONDS - 45, to: SECONDS - 35, pps: 1500 };
const AMPLIFICATION = { from: SECONDS - 15, to: SECONDS, ppsPerReflector: 800 };
const SERVER = "198.51.100.1";
const VICTIM = "198.51.100.2";
const VICTIM_PORT = 40000;
const CLIENTS = ["192.0.2.10", "192.0.2.11", "192.0.2.12"];
const REFLECTORS = ["203.0.113.5", "203.0.113.6", "203.0.113.7"];
const DNS = "198.51.100.53";
const CAPTURE = "net-e2e.pcap";

let browser: Browser;
let child: ChildProcess;
let dir: string;
let base = "";

function freePort(): Promise<number> {
  return new Promise((ok) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => ok(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function api<T>(path: string): Promise<T | undefined> {
  const response = await fetch(`${base}${path}`);
  if (!response.ok) return undefined;
  return ((await response.json()) as { data: T }).data;
}

// --- a pcap file of Ethernet frames -------------------------------------------------

const FIN = 0x01;
const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;

interface Packet {
  src: string;
  dst: string;
  proto: "tcp" | "udp" | "icmp";
  sport?: number;
  dport?: number;
  flags?: number;
  icmpType?: number;
  payload: number;
}

const ip = (text: string) => text.split(".").map(Number);

function checksum(bytes: Uint8Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i += 2) sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

function frame(p: Packet): Uint8Array {
  const l4 = p.proto === "tcp" ? 20 : 8;
  const ipLen = 20 + l4 + p.payload;
  const out = new Uint8Array(14 + ipLen);
  const view = new DataView(out.buffer);
  out.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2], 0);
  view.setUint16(12, 0x0800);
  out[14] = 0x45;
  view.setUint16(16, ipLen);
  view.setUint16(20, 0x4000);
  out[22] = 64;
  out[23] = p.proto === "tcp" ? 6 : p.proto === "udp" ? 17 : 1;
  out.set(ip(p.src), 26);
  out.set(ip(p.dst), 30);
  view.setUint16(24, checksum(out, 14, 34));
  if (p.proto === "tcp") {
    view.setUint16(34, p.sport!);
    view.setUint16(36, p.dport!);
    view.setUint32(38, 1000);
    view.setUint32(42, p.flags! & ACK ? 2000 : 0);
    out[46] = 0x50;
    out[47] = p.flags!;
    view.setUint16(48, 65535);
  } else if (p.proto === "udp") {
    view.setUint16(34, p.sport!);
    view.setUint16(36, p.dport!);
    view.setUint16(38, 8 + p.payload);
  } else {
    out[34] = p.icmpType!;
    view.setUint16(38, 7);
  }
  return out;
}

/** A deterministic pseudo-random generator (LCG), for the spoofed sources. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
}

/** Packets each address sent and each `address:port` received, per second. */
interface Tally {
  sources: Map<string, number>[];
  destinations: Map<string, number>[];
}

/** One second of traffic: the amplification when it is on, the steady part, then the SYN
 *  flood when it is on (after the steady part, so that the heavy-hitter summary has
 *  counted the real talkers before the spoofed sources crowd it: their counts stay exact). */
function second(k: number, random: () => number): Packet[] {
  const packets: Packet[] = [];
  if (k >= AMPLIFICATION.from && k < AMPLIFICATION.to) {
    for (let i = 0; i < AMPLIFICATION.ppsPerReflector * REFLECTORS.length; i++) {
      packets.push({ src: REFLECTORS[i % REFLECTORS.length], dst: VICTIM, proto: "udp", sport: 53, dport: VICTIM_PORT, payload: 1200 });
    }
  }
  CLIENTS.forEach((client, c) => {
    const rate = 120 + ((k * 7 + c * 5) % 11) - 5;
    for (let i = 0; i < rate; i++) {
      packets.push({ src: client, dst: SERVER, proto: "tcp", sport: 50001 + c, dport: 443, flags: PSH | ACK, payload: 100 });
      packets.push({ src: SERVER, dst: client, proto: "tcp", sport: 443, dport: 50001 + c, flags: ACK, payload: 0 });
    }
  });
  for (let i = 0; i < 3; i++) {
    const client = `192.0.2.${100 + ((k * 3 + i) % 50)}`;
    const port = 40000 + ((k * 3 + i) % 20000);
    packets.push({ src: client, dst: SERVER, proto: "tcp", sport: port, dport: 443, flags: SYN, payload: 0 });
    packets.push({ src: SERVER, dst: client, proto: "tcp", sport: 443, dport: port, flags: SYN | ACK, payload: 0 });
    packets.push({ src: client, dst: SERVER, proto: "tcp", sport: port, dport: 443, flags: ACK, payload: 0 });
  }
  if (k % 10 === 9) packets.push({ src: CLIENTS[0], dst: SERVER, proto: "tcp", sport: 50001, dport: 443, flags: FIN | ACK, payload: 0 });
  for (let i = 0; i < 20; i++) packets.push({ src: DNS, dst: CLIENTS[i % 3], proto: "udp", sport: 53, dport: 5300 + (i % 3), payload: 80 });
  for (let i = 0; i < 2; i++) {
    packets.push({ src: CLIENTS[0], dst: SERVER, proto: "icmp", icmpType: 8, payload: 0 });
    packets.push({ src: SERVER, dst: CLIENTS[0], proto: "icmp", icmpType: 0, payload: 0 });
  }
  if (k >= SYN_FLOOD.from && k < SYN_FLOOD.to) {
    for (let i = 0; i < SYN_FLOOD.pps; i++) {
      const r = random();
      const src = `${10 + (r % 200)}.${(r >>> 8) & 255}.${(r >>> 16) & 255}.${1 + ((r >>> 24) % 254)}`;
      packets.push({ src, dst: SERVER, proto: "tcp", sport: 1024 + (random() % 60000), dport: 80, flags: SYN, payload: 0 });
    }
  }
  return packets;
}

/** Writes the capture starting at `t0` (unix s); returns what each address sent and got. */
function writeCapture(path: string, t0: number): Tally {
  const chunks: Uint8Array[] = [];
  const header = new DataView(new ArrayBuffer(24));
  header.setUint32(0, 0xa1b2c3d4, true);
  header.setUint16(4, 2, true);
  header.setUint16(6, 4, true);
  header.setUint32(16, 65535, true);
  header.setUint32(20, 1, true);
  chunks.push(new Uint8Array(header.buffer));
  const tally: Tally = { sources: [], destinations: [] };
  const random = lcg(7);
  for (let k = 0; k < SECONDS; k++) {
    const packets = second(k, random);
    const sources = new Map<string, number>();
    const destinations = new Map<string, number>();
    packets.forEach((p, i) => {
      const bytes = frame(p);
      const record = new DataView(new ArrayBuffer(16));
      record.setUint32(0, t0 + k, true);
      record.setUint32(4, Math.floor((i * 1_000_000) / packets.length), true);
      record.setUint32(8, bytes.length, true);
      record.setUint32(12, bytes.length, true);
      chunks.push(new Uint8Array(record.buffer), bytes);
      sources.set(p.src, (sources.get(p.src) ?? 0) + 1);
      const destination = `${p.dst}:${p.dport ?? 0}`;
      destinations.set(destination, (destinations.get(destination) ?? 0) + 1);
    });
    tally.sources.push(sources);
    tally.destinations.push(destinations);
  }
  writeFileSync(path, Buffer.concat(chunks));
  return tally;
}

/** A series key in Prometheus notation, `name{a="b",c="d"}`, as a name and labels. */
function parseKey(key: string): { name: string; labels: Record<string, string> } {
  const brace = key.indexOf("{");
  if (brace < 0) return { name: key, labels: {} };
  const labels: Record<string, string> = {};
  for (const m of key.slice(brace).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]] = m[2].replace(/\\(.)/g, "$1");
  return { name: key.slice(0, brace), labels };
}

/** The CSV of `lookout pcap --series`: `timestamp_ms,"key",value`, quotes doubled. */
function parseSeries(csv: string): { name: string; labels: Record<string, string>; timestamp: number; value: number }[] {
  return csv
    .split("\n")
    .slice(1)
    .filter(Boolean)
    .map((line) => {
      const m = /^(\d+),"((?:[^"]|"")*)",(.*)$/.exec(line);
      if (!m) throw new Error(`unexpected series line ${line}`);
      return { ...parseKey(m[2].replaceAll('""', '"')), timestamp: Number(m[1]), value: Number(m[3]) };
    });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/** What an address sent in each second, 0 when it is under the capture's reporting rule
 *  (≥ 1 % of the second's packets and ≥ 100, among the top 5). */
function reported(per: Map<string, number>[], key: string): number[] {
  return per.map((counts) => {
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    const hit = top.find(([k, n]) => k === key && n >= 100 && n >= total / 100);
    return hit ? hit[1] : 0;
  });
}

let tally: Tally;
let flood: { id: number };
let amplification: { id: number };

describe.skipIf(skip !== "")("network page", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lookout-network-e2e-"));
    const t0 = Math.floor(Date.now() / 1000) - SECONDS - 2;
    const capture = join(dir, CAPTURE);
    tally = writeCapture(capture, t0);
    const analysed = spawnSync(binary, ["pcap", capture, "--series", join(dir, "series.csv")], { encoding: "utf8", maxBuffer: 64 << 20 });
    expect(analysed.status, analysed.stderr).toBe(0);
    const events = analysed.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line));
    expect(events.map((e: { kind: string }) => e.kind)).toEqual(expect.arrayContaining(["syn_flood", "udp_amplification"]));
    const samples = parseSeries(readFileSync(join(dir, "series.csv"), "utf8"));

    const port = await freePort();
    child = spawn(binary, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", join(dir, "data")], { stdio: "ignore" });
    base = `http://127.0.0.1:${port}`;
    await waitFor("the server", async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined));
    await push(base, samples);
    const posted = await fetch(`${base}/api/v1/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(events) });
    expect(posted.status, await posted.clone().text()).toBe(200);
    const ids = ((await posted.json()) as { data: { ids: number[] } }).data.ids;
    const withIds = events.map((e: { kind: string }, i: number) => ({ ...e, id: ids[i] }));
    flood = withIds.find((e: { kind: string }) => e.kind === "syn_flood")!;
    amplification = withIds.find((e: { kind: string }) => e.kind === "udp_amplification")!;
    for (const [what, match] of [
      ["the SYN flood", `net_tcp_flags_per_second{capture="${CAPTURE}",flags="syn"}`],
      ["the amplification", `net_packets_per_second{capture="${CAPTURE}",protocol="udp"}`],
    ]) {
      await waitFor(`an anomaly of ${what}`, async () => {
        const anomalies = await api<unknown[]>(`/api/v1/anomalies?from=now-1h&to=now&match=${encodeURIComponent(match)}`);
        return anomalies?.length ? true : undefined;
      });
    }
    browser = await openBrowser(chromium);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    child?.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("draws packets by protocol and TCP flag with bands and anomaly markers", async () => {
    const { page } = browser;
    await page.goto(`${base}/network`);
    await page.waitForSelector("[data-testid=sources]");
    expect(await page.$eval("select[data-filter=point]", (s) => (s as HTMLSelectElement).value)).toBe(`capture=${CAPTURE}`);
    const charts = (testid: string, label: string) =>
      page.$$eval(
        `[data-testid=${testid}] [data-${label}]`,
        (panels, label) =>
          panels.map((p) => {
            const chart = p.querySelector<HTMLElement>("[data-testid=chart]")!.dataset;
            return { value: (p as HTMLElement).dataset[label], points: Number(chart.points), band: Number(chart.band), markers: Number(chart.markers) };
          }),
        label,
      );
    const protocols = await charts("protocols", "protocol");
    expect(protocols.map((p) => p.value)).toEqual(["all", "tcp", "udp", "icmp", "other"]);
    const flags = await charts("tcp-flags", "flags");
    expect(flags.map((f) => f.value)).toEqual(["syn", "syn_ack", "ack", "psh_ack", "fin", "rst", "ecn", "odd"]);
    for (const chart of [...protocols, ...flags]) {
      expect(chart.points, chart.value).toBeGreaterThanOrEqual(SECONDS - 5);
      expect(chart.band, chart.value).toBeGreaterThan(10);
    }
    // The flood is an anomaly of the SYNs, the amplification one of UDP.
    expect(flags.find((f) => f.value === "syn")!.markers).toBeGreaterThan(0);
    expect(protocols.find((p) => p.value === "udp")!.markers).toBeGreaterThan(0);
    expect(await page.$$("[data-testid=tcp-flags] [data-flags=syn] .anomaly-chips a")).not.toHaveLength(0);
    await browser.screenshot("network");
    expect(browser.errors).toEqual([]);
  });

  it("lists the top sources and destinations against the hour's median", async () => {
    const { page } = browser;
    await page.goto(`${base}/network`);
    await page.waitForSelector("[data-testid=sources]");
    const rows = (testid: string) =>
      page.$$eval(`[data-testid=${testid}] tbody tr`, (trs) =>
        trs.map((tr) => {
          const out: Record<string, string> = { key: (tr as HTMLElement).dataset.talker ?? "", class: tr.className };
          for (const td of tr.querySelectorAll("td[data-col]")) out[(td as HTMLElement).dataset.col!] = td.textContent ?? "";
          return out;
        }),
      );
    const last = SECONDS - 1;
    const expected = (per: Map<string, number>[], key: string) => {
      const values = reported(per, key);
      return { now: formatValue(values[last]), normal: formatValue(median(values)) };
    };
    // The reflectors lead the sources, new, then the web server at its usual rate.
    const sources = await rows("sources");
    expect(sources.slice(0, 3).map((r) => r.key).sort()).toEqual(REFLECTORS);
    for (const reflector of sources.slice(0, 3)) {
      expect(reflector).toMatchObject({ now: String(AMPLIFICATION.ppsPerReflector), normal: "0", change: "new" });
      expect(reflector.class).toContain("unusual");
    }
    const server = sources.find((r) => r.key === SERVER);
    expect(server, JSON.stringify(sources)).toMatchObject(expected(tally.sources, SERVER));
    expect(server!.class).not.toContain("unusual");
    expect(sources).toHaveLength(5);
    // The victim leads the destinations; the server's HTTPS port is as usual.
    const destinations = await rows("destinations");
    expect(destinations[0]).toMatchObject({ key: `${VICTIM}:${VICTIM_PORT}`, now: formatValue(AMPLIFICATION.ppsPerReflector * REFLECTORS.length), normal: "0", change: "new" });
    const https = destinations.find((r) => r.key === `${SERVER}:443`);
    expect(https, JSON.stringify(destinations)).toMatchObject(expected(tally.destinations, `${SERVER}:443`));
    expect(Number(https!.now)).toBeGreaterThan(300);
    expect(browser.errors).toEqual([]);
  });

  it("shows the attack timeline and each attack's evidence", async () => {
    const { page } = browser;
    await page.goto(`${base}/network`);
    await page.waitForSelector("[data-testid=attacks]");
    const marks = await page.$$eval("[data-testid=attack-timeline] [data-event]", (els) => els.map((el) => ({ kind: (el as HTMLElement).dataset.kind, left: parseFloat((el as HTMLElement).style.left) })));
    expect(marks.map((m) => m.kind)).toEqual(expect.arrayContaining(["syn_flood", "udp_amplification"]));
    const synMark = marks.find((m) => m.kind === "syn_flood")!;
    const ampMark = marks.find((m) => m.kind === "udp_amplification")!;
    // Both in the last minutes of the hour shown, the flood before the amplification.
    expect(synMark.left).toBeGreaterThan(95);
    expect(ampMark.left).toBeGreaterThan(synMark.left);
    const victims = await page.$$eval("[data-testid=attacks] tbody tr", (trs) =>
      Object.fromEntries(trs.map((tr) => [tr.querySelector("td[data-kind]")!.getAttribute("data-kind"), tr.querySelector("td[data-col=victim]")!.textContent])),
    );
    expect(victims).toMatchObject({ syn_flood: SERVER, udp_amplification: VICTIM });

    // The amplification from its row: DNS reflected by three servers, a third each (the
    // DNS server's usual answers are UDP from port 53 too).
    await page.click(`[data-testid=attacks] tr[data-event="${amplification.id}"]`);
    await page.waitForSelector(`[data-testid=attack-evidence][data-event="${amplification.id}"]`);
    const fact = (name: string) => page.textContent(`[data-testid=attack-evidence] [data-fact=${name}]`);
    expect(await fact("victim")).toBe(VICTIM);
    expect(await fact("trigger")).toMatch(/^baseline/);
    expect(await fact("spoofed")).toBe("no");
    expect(await fact("service")).toBe("dns");
    const shares = await page.$$eval("[data-testid=attack-sources] tbody tr", (trs) => trs.map((tr) => [(tr as HTMLElement).dataset.source, tr.querySelector("[data-col=share]")!.textContent]));
    expect(shares.slice(0, 3).map(([s]) => s).sort()).toEqual(REFLECTORS);
    for (const [, share] of shares.slice(0, 3)) expect(share).toBe("33.1 %");
    expect(shares[3]).toEqual([DNS, "0.8 %"]);
    const rate = (name: string) => page.$eval(`[data-testid=attack-rates] tr[data-rate=${name}] td`, (td) => td.getAttribute("title"));
    expect(await rate("packets_per_second")).toBe("2420");
    expect(await rate("victim_packets_per_second")).toBe("2400");
    expect(await page.textContent("[data-testid=attack-packets]")).toContain(`${REFLECTORS[0]}:53 > ${VICTIM}:${VICTIM_PORT} UDP 1242 B`);
    expect(page.url()).toContain(`id=${amplification.id}`);

    // The flood from its timeline mark: spoofed sources, each a sliver of the packets.
    await page.click(`[data-testid=attack-timeline] [data-event="${flood.id}"]`);
    await page.waitForSelector(`[data-testid=attack-evidence][data-event="${flood.id}"]`);
    expect(await fact("victim")).toBe(SERVER);
    expect(await fact("spoofed")).toBe("likely");
    expect(await page.$("[data-testid=attack-evidence] [data-fact=service]")).toBeNull();
    // The flood's SYNs and the three handshakes' of that second.
    expect(await rate("packets_per_second")).toBe(String(SYN_FLOOD.pps + 3));
    // Each spoofed source sent one packet; the heavy-hitter summary's estimates of the
    // top ones are upper bounds, still a few percent at most.
    const floodShares = await page.$$eval("[data-testid=attack-sources] [data-col=share]", (tds) => tds.map((td) => parseFloat(td.textContent ?? "")));
    expect(floodShares).toHaveLength(5);
    for (const share of floodShares) expect(share).toBeLessThan(10);
    // Its first packets: that second's first SYNs, the three handshakes' before the flood's.
    const k = SYN_FLOOD.from;
    const handshakes = [0, 1, 2].map((i) => `192.0.2.${100 + ((k * 3 + i) % 50)}:${40000 + ((k * 3 + i) % 20000)} > ${SERVER}:443 TCP [S] 54 B`);
    expect(await page.textContent("[data-testid=attack-packets]")).toBe(handshakes.join("\n"));
    await browser.screenshot("network-attack");
    expect(browser.errors).toEqual([]);
  });

  it("says what to configure when nothing was captured", async () => {
    const { page } = browser;
    const other = await freePort();
    const empty = spawn(binary, ["serve", "--listen", `127.0.0.1:${other}`, "--data-dir", join(dir, "empty")], { stdio: "ignore" });
    try {
      await waitFor("the second server", async () => ((await fetch(`http://127.0.0.1:${other}/readyz`)).ok ? true : undefined));
      await page.goto(`http://127.0.0.1:${other}/network`);
      const text = await page.textContent("[data-testid=network-empty]");
      expect(text).toContain('type = "packet_capture"');
      expect(text).toContain("lookout pcap");
      expect(await page.textContent("[data-testid=attacks-empty]")).toContain("No flood, scan or connection attack");
      expect(await page.getAttribute("nav a[data-page=network]", "aria-current")).toBe("page");
    } finally {
      empty.kill("SIGKILL");
    }
    expect(browser.errors).toEqual([]);
  });
});
