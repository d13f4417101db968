// Machines: each machine's usage state (idle, underused, normal, surge, sharp drop) and
// right-sizing hints, from `/api/v1/machines` when the server provides it.

import { api, hasRoute, type MachineUsage } from "../api";
import { h, replace } from "../dom";
import { formatAgo, formatDuration, quoteLabel } from "../transform";
import { seriesUrl } from "./series";

const ORDER = ["surge", "sharp_drop", "idle", "underused", "normal"];

export function renderMachines(root: HTMLElement): () => void {
  const body = h("div", null, h("p", { class: "loading" }, "Loading…"));
  replace(root, h("h1", null, "Machines"), h("p", { class: "muted" }, "Usage state from each machine's CPU, and what to do about machines that stay idle or underused."), body);
  let stopped = false;

  async function load(): Promise<void> {
    if (!(await hasRoute("GET", "/api/v1/machines"))) {
      replace(body, h("section", { class: "empty" }, h("p", null, "This server does not compute usage states (/api/v1/machines is not available).")));
      return;
    }
    let data: MachineUsage[];
    try {
      const answer = await api.machines();
      data = Array.isArray(answer) ? answer : answer.machines ?? [];
    } catch (error) {
      replace(body, h("p", { class: "error", role: "alert" }, (error as Error).message));
      return;
    }
    if (stopped) return;
    if (data.length === 0) {
      replace(body, h("section", { class: "empty", "data-testid": "machines-empty" }, h("p", null, "No machine has reported CPU usage yet.")));
      return;
    }
    const now = Date.now();
    data.sort((a, b) => ORDER.indexOf(a.state) - ORDER.indexOf(b.state) || a.machine.localeCompare(b.machine));
    const hints = data.filter((m) => m.hint);
    replace(
      body,
      hints.length
        ? h(
            "section",
            { class: "hints", "data-testid": "hints" },
            h("h2", null, "Right-sizing"),
            h("ul", null, hints.map((m) => h("li", null, h("span", { class: `status ${m.state}` }, m.hint!.action), " ", m.hint!.message))),
          )
        : h("p", { class: "muted" }, "No right-sizing hint: no machine has been idle or underused long enough."),
      h(
        "table",
        { class: "grid", "data-testid": "usage-table" },
        h("thead", null, h("tr", null, ["Machine", "State", "For", "CPU", "Last sample", "Hint"].map((x) => h("th", { scope: "col" }, x)))),
        h(
          "tbody",
          null,
          data.map((m) =>
            h(
              "tr",
              { "data-machine": m.machine },
              h("th", { scope: "row" }, h("a", { href: seriesUrl(m.series ?? `{host=${quoteLabel(m.machine)}}`, "24h"), "data-nav": true }, m.machine)),
              h("td", null, h("span", { class: `status ${m.state}` }, m.state.replace("_", " "))),
              h("td", null, m.since_ms ? formatDuration(now - m.since_ms) : "–"),
              h("td", { class: "num" }, m.cpu_percent == null ? "–" : `${m.cpu_percent.toFixed(1)} %`),
              h("td", null, formatAgo(m.last_ms ?? null, now)),
              h("td", { class: "small" }, m.hint ? m.hint.message : ""),
            ),
          ),
        ),
      ),
    );
  }

  void load();
  const every = setInterval(() => void load(), 15_000);
  return () => {
    stopped = true;
    clearInterval(every);
  };
}
