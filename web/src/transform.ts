// Pure data transforms between the API's answers and what the pages draw. No DOM here:
// everything is unit tested (transform.test.ts).

export type Labels = Record<string, string>;

/** One series of `GET /api/v1/chart`: columns, times in ms, null where there is no value. */
export interface ChartSeries {
  id: number;
  key: string;
  name: string;
  labels: Labels;
  resolution: string;
  t: number[];
  v: (number | null)[];
  score: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
  anomaly: number[];
  /** Lowest and highest value of each bucket when the server downsampled. */
  min?: (number | null)[];
  max?: (number | null)[];
}

/** A live point from the stream: [t_ms, value, score, lower, upper, anomaly 0|1]. */
export type LivePoint = [number, number | null, number | null, number | null, number | null, number];

/** Columns uPlot draws: x in seconds, then value, lower, upper, anomaly markers; and scores. */
export interface PlotColumns {
  x: number[];
  value: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
  marker: (number | null)[];
  score: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
}

export function toColumns(series: ChartSeries): PlotColumns {
  const n = series.t.length;
  const x = new Array<number>(n);
  const marker = new Array<number | null>(n);
  for (let i = 0; i < n; i++) {
    x[i] = series.t[i] / 1000;
    marker[i] = series.anomaly[i] ? series.v[i] : null;
  }
  return {
    x,
    value: series.v.slice(),
    lower: series.lower.slice(),
    upper: series.upper.slice(),
    marker,
    score: series.score.slice(),
    min: (series.min ?? series.v).slice(),
    max: (series.max ?? series.v).slice(),
  };
}

/**
 * Appends live points (time order) to the columns in place, skipping points not newer
 * than the last one held, and drops points older than `fromMs` from the front.
 * Returns how many points were appended.
 */
export function appendLive(cols: PlotColumns, points: LivePoint[], fromMs: number | null): number {
  let appended = 0;
  for (const [t, v, score, lower, upper, anomaly] of points) {
    const x = t / 1000;
    const last = cols.x.length ? cols.x[cols.x.length - 1] : -Infinity;
    if (x <= last) continue;
    cols.x.push(x);
    cols.value.push(v);
    cols.lower.push(lower);
    cols.upper.push(upper);
    cols.marker.push(anomaly ? v : null);
    cols.score.push(score);
    cols.min.push(v);
    cols.max.push(v);
    appended++;
  }
  if (fromMs !== null) {
    const from = fromMs / 1000;
    let drop = 0;
    while (drop < cols.x.length - 1 && cols.x[drop] < from) drop++;
    if (drop > 0) {
      for (const column of [cols.x, cols.value, cols.lower, cols.upper, cols.marker, cols.score, cols.min, cols.max]) {
        column.splice(0, drop);
      }
    }
  }
  return appended;
}

/** Whether any point summarises several samples (then the chart draws the min–max envelope). */
export function isDownsampled(series: ChartSeries): boolean {
  if (!series.min || !series.max) return false;
  for (let i = 0; i < series.min.length; i++) if (series.min[i] !== series.max[i]) return true;
  return false;
}

/** Number of anomalous points in the columns. */
export function markerCount(cols: PlotColumns): number {
  let count = 0;
  for (const m of cols.marker) if (m !== null) count++;
  return count;
}

/** A time range: absolute ms bounds, and whether it follows now ("last 1h"). */
export interface TimeRange {
  from: number;
  to: number;
  live: boolean;
  spec: string;
}

export const RANGE_PRESETS: { spec: string; label: string }[] = [
  { spec: "15m", label: "15 min" },
  { spec: "1h", label: "1 h" },
  { spec: "6h", label: "6 h" },
  { spec: "24h", label: "24 h" },
  { spec: "7d", label: "7 d" },
  { spec: "30d", label: "30 d" },
];

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses "90s", "15m", "1h30m", "7d" into ms; null when it is not a duration. */
export function parseDuration(text: string): number | null {
  const re = /(\d+(?:\.\d+)?)([smhdw])/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += parseFloat(m[1]) * UNIT_MS[m[2]];
    matched = re.lastIndex;
  }
  return matched === text.length && text.length > 0 ? total : null;
}

/** Parses a time: unix ms (13+ digits), unix seconds, or anything Date understands. */
export function parseTime(text: string): number | null {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    const n = parseFloat(trimmed);
    return trimmed.split(".")[0].length >= 12 ? n : n * 1000;
  }
  const t = Date.parse(trimmed);
  return Number.isNaN(t) ? null : t;
}

/** "1h" → the last hour before `now`; "FROM..TO" → that window (times as parseTime reads them). */
export function parseRange(spec: string, now: number): TimeRange | null {
  const duration = parseDuration(spec);
  if (duration !== null) return { from: now - duration, to: now, live: true, spec };
  const [a, b] = spec.split("..");
  if (b === undefined) return null;
  const from = parseTime(a);
  const to = b.trim() === "" || b.trim() === "now" ? now : parseTime(b);
  if (from === null || to === null || from >= to) return null;
  return { from, to, live: b.trim() === "" || b.trim() === "now", spec };
}

/** A window of `width` ms centred on `at`. */
export function rangeAround(at: number, width: number): string {
  return `${Math.round(at - width / 2)}..${Math.round(at + width / 2)}`;
}

/** How many points to ask the server for, for a chart `pixels` wide. */
export function maxPointsFor(pixels: number): number {
  return Math.max(100, Math.min(20_000, Math.round(pixels * 2)));
}

/** Quotes a label value for a selector. */
export function quoteLabel(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** The selector that matches exactly one series. */
export function selectorOf(name: string, labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${quoteLabel(labels[k])}`);
  return parts.length ? `${name}{${parts.join(",")}}` : name;
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * What the search box means: a selector as typed (`name{..}` or `{..}`), an exact metric
 * name, or else a case-insensitive substring of metric names.
 */
export function searchToSelector(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  if (trimmed.includes("{")) return trimmed;
  if (NAME_RE.test(trimmed)) return trimmed;
  const escaped = trimmed.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return `{__name__=~${quoteLabel(`(?i).*${escaped}.*`)}}`;
}

/** Metric names that contain every word typed, best (prefix) matches first. */
export function suggestNames(names: string[], text: string, limit = 12): string[] {
  const words = text.toLowerCase().split(/[\s{]+/).filter(Boolean);
  if (words.length === 0) return names.slice(0, limit);
  const hits = names.filter((n) => words.every((w) => n.toLowerCase().includes(w)));
  hits.sort((a, b) => Number(!a.startsWith(words[0])) - Number(!b.startsWith(words[0])) || a.localeCompare(b));
  return hits.slice(0, limit);
}

/** The machine a series belongs to: its host, instance or instance_id label. */
export function machineOf(labels: Labels): string | null {
  return labels.host ?? labels.instance ?? labels.instance_id ?? null;
}

/** Values for people: 3 significant digits, SI suffixes for large magnitudes. */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const abs = Math.abs(v);
  if (abs !== 0 && abs < 0.001) return v.toExponential(2);
  const units: [number, string][] = [
    [1e12, "T"],
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [scale, suffix] of units) {
    if (abs >= scale) return `${trimZeros((v / scale).toPrecision(3))}${suffix}`;
  }
  return trimZeros(v.toPrecision(3));
}

function trimZeros(text: string): string {
  return text.includes(".") && !text.includes("e") ? text.replace(/\.?0+$/, "") : text;
}

/** "2 h 5 min", "45 s", "3 d 4 h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return m % 60 ? `${hours} h ${m % 60} min` : `${hours} h`;
  const d = Math.floor(hours / 24);
  return hours % 24 ? `${d} d ${hours % 24} h` : `${d} d`;
}

/** "5 min ago" relative to now. */
export function formatAgo(t: number | null, now: number): string {
  if (t === null) return "never";
  const delta = now - t;
  if (delta < 1500) return "just now";
  return `${formatDuration(delta)} ago`;
}

/** Local date and time, "2024-05-01 13:45:10". */
export function formatTime(t: number): string {
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The value of an `<input type="datetime-local">` for a time. */
export function toLocalInput(t: number): string {
  return formatTime(t).replace(" ", "T").slice(0, 16);
}

export interface AnomalyLike {
  id: number;
  name: string;
  labels: Labels;
  series: string;
  start_ms: number;
  end_ms: number | null;
  peak_score: number;
  severity: string;
  domain: string;
  status: string;
}

export interface AnomalyFilter {
  severity: string;
  domain: string;
  status: string;
  text: string;
}

/** Anomalies that pass the filter (text: words that must all appear in the series). */
export function filterAnomalies<T extends AnomalyLike>(list: T[], filter: AnomalyFilter): T[] {
  const words = filter.text.toLowerCase().split(/\s+/).filter(Boolean);
  return list.filter(
    (a) =>
      (filter.severity === "" || a.severity === filter.severity) &&
      (filter.domain === "" || domainGroup(a.domain) === filter.domain || a.domain === filter.domain) &&
      (filter.status === "" || (filter.status === "open" ? a.end_ms === null : a.status === filter.status)) &&
      words.every((w) => a.series.toLowerCase().includes(w)),
  );
}

/** The five domains the overview shows, and which model domains fall in each. */
export const DOMAIN_GROUPS: { id: string; label: string; domains: string[] }[] = [
  { id: "cpu", label: "CPU", domains: ["cpu"] },
  { id: "memory_storage", label: "Memory / storage", domains: ["memory", "storage"] },
  { id: "network", label: "Network", domains: ["network", "traffic"] },
  { id: "logins", label: "Logins", domains: ["login"] },
  { id: "content", label: "Content", domains: ["content"] },
];

export function domainGroup(domain: string): string {
  return DOMAIN_GROUPS.find((g) => g.domains.includes(domain))?.id ?? "other";
}

/** Buckets anomaly starts into `buckets` equal slices of [from, to) for a timeline strip. */
export function histogram(times: number[], from: number, to: number, buckets: number): number[] {
  const counts = new Array<number>(buckets).fill(0);
  const width = (to - from) / buckets;
  if (width <= 0) return counts;
  for (const t of times) {
    if (t < from || t >= to) continue;
    counts[Math.min(buckets - 1, Math.floor((t - from) / width))]++;
  }
  return counts;
}
