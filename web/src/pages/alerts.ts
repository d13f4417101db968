// Alerts and silences: firing and recent alerts; create a silence from an alert or from
// matchers, expire one. Routes come from the alerting module (`/api/v1/alerts`,
// `/api/v1/silences`); a server without them gets an honest empty state.

import { del, get, hasRoute, post } from "../api";
import { h, replace } from "../dom";
import { formatAgo, formatDuration, formatTime, quoteLabel, toLocalInput } from "../transform";
import { seriesUrl } from "./series";

export interface AlertView {
  fingerprint: string;
  rule: string;
  state: string;
  severity: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  series?: unknown;
  silenced_by?: number[];
  starts_ms: number;
  ends_ms?: number | null;
  peak_score?: number;
}

export interface SilenceView {
  id: number;
  matchers: string;
  starts_ms: number;
  ends_ms: number;
  every_ms?: number | null;
  author: string;
  comment: string;
  created_ms: number;
  expired_ms?: number | null;
}

/** Alerts from any of the shapes an alerts listing may take. */
export function alertList(data: unknown): AlertView[] {
  if (Array.isArray(data)) return data as AlertView[];
  if (data && typeof data === "object") {
    const o = data as Record<string, unknown>;
    for (const key of ["alerts", "firing", "active"]) if (Array.isArray(o[key])) return [...(o[key] as AlertView[]), ...(Array.isArray(o.recent) ? (o.recent as AlertView[]) : [])];
  }
  return [];
}

export function silenceList(data: unknown): SilenceView[] {
  if (Array.isArray(data)) return data as SilenceView[];
  const o = data as Record<string, unknown> | null;
  return o && Array.isArray(o.silences) ? (o.silences as SilenceView[]) : [];
}

/** The selector a silence made from an alert uses: its rule and series labels. */
export function alertMatchers(alert: AlertView): string {
  const keep = ["alertname", "metric", "host", "instance", "instance_id"];
  const parts = Object.keys(alert.labels)
    .filter((k) => keep.includes(k))
    .sort()
    .map((k) => `${k}=${quoteLabel(alert.labels[k])}`);
  return `{${parts.join(",")}}`;
}

function silenceState(s: SilenceView, now: number): string {
  if (s.expired_ms != null) return "expired";
  if (s.every_ms) return "window";
  if (now < s.starts_ms) return "pending";
  return now < s.ends_ms ? "active" : "expired";
}

export function renderAlerts(root: HTMLElement): () => void {
  const alertsEl = h("div", null, h("p", { class: "loading" }, "Loading…"));
  const silencesEl = h("div", null);
  const now = Date.now();
  const matchers = h("input", { name: "matchers", required: true, placeholder: '{host="web-1"}', "aria-label": "Matchers", "data-search": true });
  const starts = h("input", { name: "starts", type: "datetime-local", value: toLocalInput(now), "aria-label": "Starts" });
  const ends = h("input", { name: "ends", type: "datetime-local", value: toLocalInput(now + 2 * 3_600_000), "aria-label": "Ends" });
  const author = h("input", { name: "author", required: true, value: localStorage.getItem("lookout-author") ?? "", placeholder: "Your name", "aria-label": "Author" });
  const comment = h("input", { name: "comment", required: true, placeholder: "Why", "aria-label": "Comment" });
  const formMessage = h("p", { class: "small", role: "status" });
  let stopped = false;

  const form = h(
    "form",
    {
      class: "silence-form",
      "data-testid": "silence-form",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        localStorage.setItem("lookout-author", author.value);
        try {
          await post("/api/v1/silences", {
            matchers: matchers.value.trim(),
            starts_ms: Date.parse(starts.value),
            ends_ms: Date.parse(ends.value),
            author: author.value.trim(),
            comment: comment.value.trim(),
          });
          formMessage.textContent = `Silence created for ${matchers.value.trim()}.`;
          formMessage.className = "small ok";
          comment.value = "";
          await loadSilences();
        } catch (error) {
          formMessage.textContent = `Not created: ${(error as Error).message}`;
          formMessage.className = "small error";
        }
      },
    },
    h("h2", null, "New silence"),
    h("label", null, "Matchers ", matchers),
    h("label", null, "From ", starts),
    h("label", null, "To ", ends),
    h("label", null, "Author ", author),
    h("label", null, "Comment ", comment),
    h("button", { type: "submit" }, "Create silence"),
    formMessage,
  );
  replace(root, h("h1", null, "Alerts"), alertsEl, h("div", { class: "split" }, silencesEl, form));

  async function loadAlerts(): Promise<void> {
    if (!(await hasRoute("GET", "/api/v1/alerts"))) {
      replace(alertsEl, h("section", { class: "empty", "data-testid": "alerts-unavailable" }, h("p", null, "This server has no alerting API (/api/v1/alerts): no alert rules are evaluated here.")));
      return;
    }
    let alerts: AlertView[];
    try {
      const answer = await get<unknown>("/api/v1/alerts");
      if (answer && typeof answer === "object" && (answer as { enabled?: boolean }).enabled === false) {
        replace(alertsEl, h("section", { class: "empty", "data-testid": "alerts-disabled" }, h("p", null, "Alerting is not configured on this server: add [[alert.rule]] and [[alert.notifier]] to the configuration. Silences can still be prepared below.")));
        return;
      }
      alerts = alertList(answer);
    } catch (error) {
      replace(alertsEl, h("p", { class: "error", role: "alert" }, (error as Error).message));
      return;
    }
    if (stopped) return;
    const t = Date.now();
    if (alerts.length === 0) {
      replace(alertsEl, h("section", { class: "empty", "data-testid": "alerts-empty" }, h("p", null, "No alert is firing and none fired recently.")));
      return;
    }
    alerts.sort((a, b) => Number(b.state === "firing") - Number(a.state === "firing") || b.starts_ms - a.starts_ms);
    replace(
      alertsEl,
      h(
        "table",
        { class: "grid", "data-testid": "alerts-table" },
        h("thead", null, h("tr", null, ["State", "Severity", "Rule", "Labels", "Since", "Duration", ""].map((x) => h("th", { scope: "col" }, x)))),
        h(
          "tbody",
          null,
          alerts.map((a) => {
            const labelsText = Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(", ");
            const seriesLink = typeof a.series === "string" ? seriesUrl(a.series, undefined, a.starts_ms) : null;
            const silenced = (a.silenced_by ?? []).length > 0;
            return h(
              "tr",
              { "data-state": a.state },
              h("td", null, h("span", { class: `status ${a.state}` }, a.state), silenced ? h("span", { class: "badge", title: `Silenced by ${a.silenced_by!.join(", ")}` }, "silenced") : null),
              h("td", null, h("span", { class: `sev ${a.severity}` }, a.severity)),
              h("td", null, a.rule),
              h("td", { class: "small" }, seriesLink ? h("a", { href: seriesLink, "data-nav": true }, String(a.series)) : labelsText),
              h("td", { title: formatTime(a.starts_ms) }, formatAgo(a.starts_ms, t)),
              h("td", null, formatDuration((a.ends_ms ?? t) - a.starts_ms)),
              h(
                "td",
                null,
                h("button", { type: "button", onclick: () => { matchers.value = alertMatchers(a); comment.focus(); } }, "Silence…"),
              ),
            );
          }),
        ),
      ),
    );
  }

  async function loadSilences(): Promise<void> {
    if (!(await hasRoute("GET", "/api/v1/silences"))) {
      replace(silencesEl, h("section", { class: "empty", "data-testid": "silences-unavailable" }, h("h2", null, "Silences"), h("p", null, "This server has no silences API (/api/v1/silences).")));
      form.querySelector("button")?.setAttribute("disabled", "");
      return;
    }
    let silences: SilenceView[];
    try {
      silences = silenceList(await get<unknown>("/api/v1/silences"));
    } catch (error) {
      replace(silencesEl, h("p", { class: "error", role: "alert" }, (error as Error).message));
      return;
    }
    if (stopped) return;
    const t = Date.now();
    const canDelete = await hasRoute("DELETE", "/api/v1/silences/{id}");
    const canExpire = canDelete || (await hasRoute("POST", "/api/v1/silences/{id}/expire"));
    replace(
      silencesEl,
      h("h2", null, "Silences"),
      silences.length === 0
        ? h("p", { class: "muted", "data-testid": "silences-empty" }, "No silence.")
        : h(
            "table",
            { class: "grid", "data-testid": "silences-table" },
            h("thead", null, h("tr", null, ["State", "Matchers", "From", "To", "By", "Comment", ""].map((x) => h("th", { scope: "col" }, x)))),
            h(
              "tbody",
              null,
              silences
                .sort((a, b) => b.created_ms - a.created_ms)
                .map((s) => {
                  const state = silenceState(s, t);
                  return h(
                    "tr",
                    { "data-silence": String(s.id), "data-state": state },
                    h("td", null, h("span", { class: `status ${state}` }, state)),
                    h("td", null, h("code", null, s.matchers)),
                    h("td", null, formatTime(s.starts_ms)),
                    h("td", null, formatTime(s.ends_ms)),
                    h("td", null, s.author),
                    h("td", null, s.comment),
                    h(
                      "td",
                      null,
                      state !== "expired" && canExpire
                        ? h(
                            "button",
                            {
                              type: "button",
                              onclick: async () => {
                                if (canDelete) await del(`/api/v1/silences/${s.id}`);
                                else await post(`/api/v1/silences/${s.id}/expire`, {});
                                await loadSilences();
                              },
                            },
                            "Expire",
                          )
                        : "",
                    ),
                  );
                }),
            ),
          ),
    );
  }

  void loadAlerts();
  void loadSilences();
  const every = setInterval(() => void loadAlerts(), 10_000);
  return () => {
    stopped = true;
    clearInterval(every);
  };
}
