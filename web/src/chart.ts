// A series chart: value line, expected band shaded, min–max envelope when the server
// downsampled, anomalies marked, and the anomaly score in a strip underneath with a
// synced cursor. Drag selects a window to zoom into; the page refetches at the new
// resolution. Built on uPlot, which draws 100,000 points in tens of milliseconds.
// `LinesChart` draws several series on one axis (the Logs page's status classes).

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "./dom";
import { formatTime, formatValue, markerCount, type PlotColumns } from "./transform";

export type ChartColumns = PlotColumns;

export interface ChartOptions {
  title: string;
  cols: ChartColumns;
  from: number;
  to: number;
  /** Draw a min–max envelope (the server merged several samples per point). */
  envelope: boolean;
  /** A moment to mark with a vertical line (unix ms). */
  at?: number | null;
  onZoom?: (from: number, to: number) => void;
  height?: number;
}

function css(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

const syncKey = "lookout-series";

export class SeriesChart {
  readonly el: HTMLElement;
  private main: uPlot;
  private score: uPlot;
  private cols: ChartColumns;
  private observer: ResizeObserver;
  private pending = false;

  constructor(parent: HTMLElement, private opts: ChartOptions) {
    this.cols = opts.cols;
    const mainEl = h("div", { class: "chart-main" });
    const scoreEl = h("div", { class: "chart-score" });
    this.el = h("div", { class: "chart", "data-testid": "chart", tabindex: "0", "aria-label": `Chart of ${opts.title}` }, mainEl, scoreEl);
    parent.appendChild(this.el);
    const width = Math.max(300, parent.clientWidth || 800);
    const colors = { line: css("--accent"), band: css("--band"), env: css("--envelope"), bad: css("--bad"), grid: css("--grid"), text: css("--muted") };
    const axis = (extra: Partial<uPlot.Axis> = {}): uPlot.Axis => ({
      stroke: colors.text,
      grid: { stroke: colors.grid, width: 1 },
      ticks: { stroke: colors.grid, width: 1 },
      ...extra,
    });
    const at = opts.at ?? null;
    const markMoment = (u: uPlot) => {
      if (at === null) return;
      const x = u.valToPos(at / 1000, "x", true);
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
      u.ctx.save();
      u.ctx.strokeStyle = colors.bad;
      u.ctx.setLineDash([4, 4]);
      u.ctx.beginPath();
      u.ctx.moveTo(x, u.bbox.top);
      u.ctx.lineTo(x, u.bbox.top + u.bbox.height);
      u.ctx.stroke();
      u.ctx.restore();
    };
    const zoomOnSelect = (u: uPlot) => {
      if (u.select.width < 5) return;
      const from = u.posToVal(u.select.left, "x") * 1000;
      const to = u.posToVal(u.select.left + u.select.width, "x") * 1000;
      u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
      opts.onZoom?.(Math.round(from), Math.round(to));
    };
    // The first draw of the value chart is measured ("chart-draw", Performance API).
    const started = performance.now();
    let first = true;
    const measureFirstDraw = () => {
      if (!first) return;
      first = false;
      performance.measure("chart-draw", { start: started, detail: { points: this.cols.x.length } });
    };
    const xScale: uPlot.Scale = { time: true, min: opts.from / 1000, max: opts.to / 1000 };
    const hidden = { stroke: "transparent", width: 0, points: { show: false } };
    this.main = new uPlot(
      {
        width,
        height: opts.height ?? 240,
        scales: { x: { ...xScale } },
        cursor: { sync: { key: syncKey }, drag: { x: true, y: false, setScale: false } },
        legend: { show: true, live: true },
        axes: [axis(), axis({ size: 60, values: (_u, splits) => splits.map((v) => formatValue(v)) })],
        series: [
          { value: (_u, v) => (v === null ? "–" : formatTime(v * 1000)) },
          { label: "expected upper", ...hidden, value: (_u, v) => formatValue(v) },
          { label: "expected lower", ...hidden, value: (_u, v) => formatValue(v) },
          ...(opts.envelope
            ? [
                { label: "max", ...hidden, value: (_u: uPlot, v: number | null) => formatValue(v) },
                { label: "min", ...hidden, value: (_u: uPlot, v: number | null) => formatValue(v) },
              ]
            : []),
          { label: "value", stroke: colors.line, width: 1.5, points: { show: false }, value: (_u, v) => formatValue(v) },
          {
            label: "anomaly",
            stroke: colors.bad,
            fill: colors.bad,
            width: 0,
            paths: () => null,
            points: { show: true, size: 9, stroke: colors.bad, fill: colors.bad, width: 1 },
            value: (_u, v) => (v === null ? "" : formatValue(v)),
          },
        ],
        bands: [
          { series: [1, 2], fill: colors.band },
          ...(opts.envelope ? [{ series: [3, 4] as [number, number], fill: colors.env }] : []),
        ],
        hooks: { draw: [markMoment, measureFirstDraw], setSelect: [zoomOnSelect] },
      },
      this.mainData(),
      mainEl,
    );
    this.score = new uPlot(
      {
        width,
        height: 90,
        scales: { x: { ...xScale }, y: { range: [0, 1] } },
        cursor: { sync: { key: syncKey }, drag: { x: true, y: false, setScale: false } },
        legend: { show: true, live: true },
        axes: [axis({ show: false, size: 0 }), axis({ size: 60, splits: () => [0, 0.5, 1] })],
        series: [
          { value: (_u, v) => (v === null ? "–" : formatTime(v * 1000)) },
          { label: "score", stroke: colors.bad, fill: css("--score-fill"), width: 1, points: { show: false }, value: (_u, v) => (v === null ? "–" : v.toFixed(3)) },
        ],
        hooks: { draw: [markMoment], setSelect: [zoomOnSelect] },
      },
      [this.cols.x, this.cols.score] as uPlot.AlignedData,
      scoreEl,
    );
    this.updateAttributes();
    this.el.addEventListener("keydown", (event) => this.onKey(event));
    this.observer = new ResizeObserver(() => {
      const w = Math.max(300, parent.clientWidth);
      if (Math.abs(w - this.main.width) > 2) {
        this.main.setSize({ width: w, height: this.main.height });
        this.score.setSize({ width: w, height: this.score.height });
      }
    });
    this.observer.observe(parent);
  }

  private mainData(): uPlot.AlignedData {
    const c = this.cols;
    return (this.opts.envelope ? [c.x, c.upper, c.lower, c.max, c.min, c.value, c.marker] : [c.x, c.upper, c.lower, c.value, c.marker]) as uPlot.AlignedData;
  }

  private updateAttributes(): void {
    this.el.dataset.points = String(this.cols.x.length);
    this.el.dataset.markers = String(markerCount(this.cols));
    this.el.dataset.band = String(this.cols.upper.filter((v) => v !== null).length);
  }

  /** Redraws after the columns were changed in place (live points); at most once a frame. */
  refresh(from: number, to: number): void {
    this.opts.from = from;
    this.opts.to = to;
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      const scale = { min: this.opts.from / 1000, max: this.opts.to / 1000 };
      this.main.setData(this.mainData(), false);
      this.main.setScale("x", scale);
      this.score.setData([this.cols.x, this.cols.score] as uPlot.AlignedData, false);
      this.score.setScale("x", scale);
      this.updateAttributes();
    });
  }

  /** Keyboard: ←/→ pan by a quarter, +/− zoom, when the chart has focus. */
  private onKey(event: KeyboardEvent): void {
    const span = this.opts.to - this.opts.from;
    let from = this.opts.from;
    let to = this.opts.to;
    if (event.key === "ArrowLeft") [from, to] = [from - span / 4, to - span / 4];
    else if (event.key === "ArrowRight") [from, to] = [from + span / 4, to + span / 4];
    else if (event.key === "+" || event.key === "=") [from, to] = [from + span / 4, to - span / 4];
    else if (event.key === "-") [from, to] = [from - span / 2, to + span / 2];
    else return;
    event.preventDefault();
    this.opts.onZoom?.(Math.round(from), Math.round(to));
  }

  destroy(): void {
    this.observer.disconnect();
    this.main.destroy();
    this.score.destroy();
    this.el.remove();
  }
}

export interface LinesOptions {
  title: string;
  x: number[];
  series: { label: string; values: (number | null)[]; color: string }[];
  from: number;
  to: number;
  height?: number;
  onZoom?: (from: number, to: number) => void;
}

/** Several series on one time axis (e.g. requests by status class), one line each, with a
 *  live legend; drag selects a window to zoom into. */
export class LinesChart {
  readonly el: HTMLElement;
  private plot: uPlot;
  private observer: ResizeObserver;

  constructor(parent: HTMLElement, opts: LinesOptions) {
    this.el = h("div", { class: "chart", "data-testid": "lines-chart", tabindex: "0", "aria-label": `Chart of ${opts.title}` });
    parent.appendChild(this.el);
    const width = Math.max(300, parent.clientWidth || 800);
    const grid = css("--grid");
    const text = css("--muted");
    const axis = (extra: Partial<uPlot.Axis> = {}): uPlot.Axis => ({ stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, ...extra });
    const colors = opts.series.map((s) => (s.color.startsWith("--") ? css(s.color) : s.color));
    this.plot = new uPlot(
      {
        width,
        height: opts.height ?? 200,
        scales: { x: { time: true, min: opts.from / 1000, max: opts.to / 1000 } },
        cursor: { drag: { x: true, y: false, setScale: false } },
        legend: { show: true, live: true },
        axes: [axis(), axis({ size: 60, values: (_u, splits) => splits.map((v) => formatValue(v)) })],
        series: [
          { value: (_u, v) => (v === null ? "–" : formatTime(v * 1000)) },
          ...opts.series.map((s, i) => ({ label: s.label, stroke: colors[i], width: 1.5, points: { show: false }, value: (_u: uPlot, v: number | null) => formatValue(v) })),
        ],
        hooks: {
          setSelect: [
            (u: uPlot) => {
              if (u.select.width < 5) return;
              const from = u.posToVal(u.select.left, "x") * 1000;
              const to = u.posToVal(u.select.left + u.select.width, "x") * 1000;
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              opts.onZoom?.(Math.round(from), Math.round(to));
            },
          ],
        },
      },
      [opts.x, ...opts.series.map((s) => s.values)] as uPlot.AlignedData,
      this.el,
    );
    this.el.dataset.points = String(opts.x.length);
    this.el.dataset.series = opts.series.map((s) => s.label).join(",");
    this.observer = new ResizeObserver(() => {
      const w = Math.max(300, parent.clientWidth);
      if (Math.abs(w - this.plot.width) > 2) this.plot.setSize({ width: w, height: this.plot.height });
    });
    this.observer.observe(parent);
  }

  destroy(): void {
    this.observer.disconnect();
    this.plot.destroy();
    this.el.remove();
  }
}
