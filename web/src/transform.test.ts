import { describe, expect, it } from "vitest";
import {
  appendLive,
  type ChartSeries,
  domainGroup,
  filterAnomalies,
  formatDuration,
  formatValue,
  histogram,
  isDownsampled,
  machineOf,
  markerCount,
  maxPointsFor,
  parseDuration,
  parseRange,
  parseTime,
  rangeAround,
  searchToSelector,
  selectorOf,
  suggestNames,
  toColumns,
} from "./transform";

function series(): ChartSeries {
  return {
    id: 1,
    key: 'cpu{host="a"}',
    name: "cpu",
    labels: { host: "a" },
    resolution: "raw",
    t: [1000, 2000, 3000],
    v: [1, 50, 2],
    score: [0.1, 0.99, 0.2],
    lower: [0, 0, null],
    upper: [3, 3, null],
    anomaly: [0, 1, 0],
  };
}

describe("chart columns", () => {
  it("converts times to seconds and marks anomalous values", () => {
    const cols = toColumns(series());
    expect(cols.x).toEqual([1, 2, 3]);
    expect(cols.marker).toEqual([null, 50, null]);
    expect(cols.upper).toEqual([3, 3, null]);
    expect(markerCount(cols)).toBe(1);
  });

  it("appends only newer live points and trims the old ones", () => {
    const cols = toColumns(series());
    const added = appendLive(
      cols,
      [
        [2000, 9, 0.1, 0, 3, 0],
        [4000, 80, 0.999, 0, 3, 1],
        [5000, 2, 0.1, 0, 3, 0],
      ],
      2500,
    );
    expect(added).toBe(2);
    expect(cols.x).toEqual([3, 4, 5]);
    expect(cols.value).toEqual([2, 80, 2]);
    expect(cols.marker).toEqual([null, 80, null]);
    expect(cols.score).toEqual([0.2, 0.999, 0.1]);
    expect(cols.min).toEqual([2, 80, 2]);
    expect(cols.max.length).toBe(3);
  });

  it("detects downsampled answers", () => {
    expect(isDownsampled(series())).toBe(false);
    expect(isDownsampled({ ...series(), min: [1, 2, 3], max: [1, 2, 3] })).toBe(false);
    expect(isDownsampled({ ...series(), min: [1, 2, 3], max: [1, 5, 3] })).toBe(true);
  });

  it("keeps the newest point when everything is older than the window", () => {
    const cols = toColumns(series());
    appendLive(cols, [], 10_000);
    expect(cols.x).toEqual([3]);
  });

  it("asks the server for about two points per pixel, within bounds", () => {
    expect(maxPointsFor(800)).toBe(1600);
    expect(maxPointsFor(10)).toBe(100);
    expect(maxPointsFor(1e6)).toBe(20_000);
  });
});

describe("time ranges", () => {
  it("parses durations", () => {
    expect(parseDuration("15m")).toBe(900_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("30d")).toBe(30 * 86_400_000);
    expect(parseDuration("1x")).toBeNull();
    expect(parseDuration("")).toBeNull();
    expect(parseDuration("5m junk")).toBeNull();
  });

  it("parses relative and absolute ranges", () => {
    expect(parseRange("1h", 10_000_000)).toEqual({ from: 6_400_000, to: 10_000_000, live: true, spec: "1h" });
    const fixed = parseRange("1700000000000..1700000600000", 0)!;
    expect([fixed.from, fixed.to, fixed.live]).toEqual([1_700_000_000_000, 1_700_000_600_000, false]);
    const open = parseRange("1700000000..", 1_700_000_900_000)!;
    expect([open.from, open.to, open.live]).toEqual([1_700_000_000_000, 1_700_000_900_000, true]);
    expect(parseRange("2024-01-02T00:00:00Z..2024-01-01T00:00:00Z", 0)).toBeNull();
    expect(parseRange("nonsense", 0)).toBeNull();
  });

  it("reads unix seconds, unix ms and ISO times", () => {
    expect(parseTime("1700000000")).toBe(1_700_000_000_000);
    expect(parseTime("1700000000123")).toBe(1_700_000_000_123);
    expect(parseTime("2024-01-01T00:00:00Z")).toBe(Date.UTC(2024, 0, 1));
    expect(parseTime("yesterday-ish")).toBeNull();
  });

  it("centres a window on a moment", () => {
    expect(rangeAround(10_000, 4_000)).toBe("8000..12000");
  });
});

describe("search", () => {
  it("passes selectors through and turns words into a name regex", () => {
    expect(searchToSelector('cpu{host="a"}')).toBe('cpu{host="a"}');
    expect(searchToSelector("node_load1")).toBe("node_load1");
    expect(searchToSelector("load avg")).toBe('{__name__=~"(?i).*load avg.*"}');
    expect(searchToSelector("a.b")).toBe('{__name__=~"(?i).*a\\\\.b.*"}');
    expect(searchToSelector("  ")).toBeNull();
  });

  it("builds exact selectors with escaped values", () => {
    expect(selectorOf("m", { b: "2", a: 'x"y' })).toBe('m{a="x\\"y",b="2"}');
    expect(selectorOf("m", {})).toBe("m");
  });

  it("suggests names containing every word, prefix matches first", () => {
    const names = ["node_cpu", "cpu_util", "mem_used", "host_cpu_seconds"];
    expect(suggestNames(names, "cpu")).toEqual(["cpu_util", "host_cpu_seconds", "node_cpu"]);
    expect(suggestNames(names, "cpu sec")).toEqual(["host_cpu_seconds"]);
    expect(suggestNames(names, "", 2)).toEqual(["node_cpu", "cpu_util"]);
  });

  it("finds the machine of a series", () => {
    expect(machineOf({ host: "web-1", instance: "x" })).toBe("web-1");
    expect(machineOf({ instance_id: "i-0abc" })).toBe("i-0abc");
    expect(machineOf({ route: "/" })).toBeNull();
  });
});

describe("formatting", () => {
  it("formats values", () => {
    expect(formatValue(null)).toBe("–");
    expect(formatValue(0)).toBe("0");
    expect(formatValue(12.345)).toBe("12.3");
    expect(formatValue(1500)).toBe("1.5k");
    expect(formatValue(2_340_000_000)).toBe("2.34G");
    expect(formatValue(0.0001234)).toBe("1.23e-4");
    expect(formatValue(-42)).toBe("-42");
  });

  it("formats durations", () => {
    expect(formatDuration(45_000)).toBe("45 s");
    expect(formatDuration(125_000)).toBe("2 min 5 s");
    expect(formatDuration(3_600_000)).toBe("1 h");
    expect(formatDuration(7_500_000)).toBe("2 h 5 min");
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe("3 d 4 h");
  });
});

describe("anomalies", () => {
  const base = { labels: {}, peak_score: 0.99, start_ms: 0 };
  const list = [
    { ...base, id: 1, name: "cpu", series: 'cpu{host="a"}', end_ms: null, severity: "critical", domain: "cpu", status: "open" },
    { ...base, id: 2, name: "mem", series: 'mem{host="b"}', end_ms: 5, severity: "warning", domain: "memory", status: "false_positive" },
    { ...base, id: 3, name: "disk", series: 'disk{host="a"}', end_ms: 9, severity: "warning", domain: "storage", status: "resolved" },
  ];
  const none = { severity: "", domain: "", status: "", text: "" };

  it("filters by severity, domain group, status and words", () => {
    expect(filterAnomalies(list, none).map((a) => a.id)).toEqual([1, 2, 3]);
    expect(filterAnomalies(list, { ...none, severity: "warning" }).map((a) => a.id)).toEqual([2, 3]);
    expect(filterAnomalies(list, { ...none, domain: "memory_storage" }).map((a) => a.id)).toEqual([2, 3]);
    expect(filterAnomalies(list, { ...none, domain: "storage" }).map((a) => a.id)).toEqual([3]);
    expect(filterAnomalies(list, { ...none, status: "open" }).map((a) => a.id)).toEqual([1]);
    expect(filterAnomalies(list, { ...none, status: "false_positive" }).map((a) => a.id)).toEqual([2]);
    expect(filterAnomalies(list, { ...none, text: 'HOST="A"' }).map((a) => a.id)).toEqual([1, 3]);
  });

  it("groups domains into the overview's five", () => {
    expect(domainGroup("traffic")).toBe("network");
    expect(domainGroup("login")).toBe("logins");
    expect(domainGroup("other")).toBe("other");
  });

  it("buckets times for the timeline", () => {
    expect(histogram([0, 1, 5, 9, 10, -1], 0, 10, 5)).toEqual([2, 0, 1, 0, 1]);
    expect(histogram([1], 5, 5, 3)).toEqual([0, 0, 0]);
  });
});
