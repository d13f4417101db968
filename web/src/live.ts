// The live feed: one EventSource on /api/v1/stream per page that wants updates.

import type { LivePoint } from "./transform";

export interface LiveSeries {
  id: number;
  key: string;
  points: LivePoint[];
}

export interface AnomalyChange {
  change: "opened" | "raised" | "closed";
  series_id: number;
  series: string;
  start_ms: number;
  end_ms: number | null;
  score: number | null;
}

export interface LiveHandlers {
  onUpdate(series: LiveSeries[], anomalies: AnomalyChange[]): void;
  /** Committed events (subscriptions with `events`). */
  onEvents?(events: unknown[]): void;
  /** Called when the stream (re)connects or lost events: the page should refetch. */
  onResync?(): void;
}

const statusEl = () => document.getElementById("live-status");

function showStatus(state: "live" | "connecting" | "off"): void {
  const el = statusEl();
  if (!el) return;
  el.dataset.state = state;
  el.textContent = state === "live" ? "● live" : state === "connecting" ? "○ connecting" : "";
  el.title = state === "live" ? "Receiving new points as they are stored" : "";
}

/** Subscribes; returns a function that closes the stream. */
export function subscribe(params: Record<string, string>, handlers: LiveHandlers): () => void {
  const url = `/api/v1/stream?${new URLSearchParams(params).toString()}`;
  let source: EventSource | null = null;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let connectedOnce = false;

  const open = () => {
    showStatus("connecting");
    source = new EventSource(url);
    source.addEventListener("ready", () => {
      showStatus("live");
      document.body.dataset.live = "ready";
      if (connectedOnce) handlers.onResync?.();
      connectedOnce = true;
    });
    source.addEventListener("update", (event) => {
      const data = JSON.parse((event as MessageEvent).data) as { series: LiveSeries[]; anomalies: AnomalyChange[] };
      handlers.onUpdate(data.series, data.anomalies);
    });
    source.addEventListener("events", (event) => {
      const data = JSON.parse((event as MessageEvent).data) as { events: unknown[] };
      handlers.onEvents?.(data.events);
    });
    source.addEventListener("lag", () => handlers.onResync?.());
    source.onerror = () => {
      source?.close();
      source = null;
      if (closed) return;
      showStatus("connecting");
      retry = setTimeout(open, 2000);
    };
  };
  open();
  return () => {
    closed = true;
    clearTimeout(retry);
    source?.close();
    showStatus("off");
    delete document.body.dataset.live;
  };
}
