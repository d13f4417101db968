// Pieces shared by the anomaly list and the series page: the explanation of an anomaly
// and the feedback buttons that call the feedback API.

import { api, type Explanation } from "../api";
import { h } from "../dom";

export const FEEDBACK: { label: string; text: string; key: string; title: string }[] = [
  { label: "confirmed", text: "Acknowledge", key: "a", title: "Seen and being handled (a)" },
  { label: "false_positive", text: "False positive", key: "f", title: "Not an anomaly: lookout widens this series' tolerance (f)" },
  { label: "expected", text: "Expected", key: "e", title: "Real but planned, e.g. a deployment or a backup (e)" },
  { label: "incident", text: "Real incident", key: "i", title: "A real problem (i)" },
];

export function explanationView(explanation: Explanation): HTMLElement {
  const detectors = explanation.detectors ?? [];
  const features = explanation.features ?? [];
  if (detectors.length === 0 && features.length === 0) {
    return h("p", { class: "muted small" }, "No explanation was recorded for this anomaly.");
  }
  return h(
    "div",
    { class: "explanation" },
    detectors.length
      ? h(
          "table",
          { class: "grid compact" },
          h("caption", null, "What drove it: each detector's tail probability (likelihood of a score this unusual)"),
          h("thead", null, h("tr", null, ["Detector", "Likelihood", "Raw score", "Fired"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            null,
            detectors.map((d) =>
              h(
                "tr",
                null,
                h("th", { scope: "row" }, d.detector),
                h("td", null, h("span", { class: "bar", style: `--w:${Math.round(Math.max(0, Math.min(1, d.likelihood)) * 100)}%` }), d.likelihood.toFixed(3)),
                h("td", { class: "num" }, Number.isFinite(d.raw) ? d.raw.toPrecision(3) : "–"),
                h("td", null, d.fired ? h("span", { class: "badge bad" }, "fired") : ""),
              ),
            ),
          ),
        )
      : null,
    features.length
      ? h(
          "ul",
          { class: "features" },
          features.map((f) => h("li", null, `${f.feature}: ${(f.share * 100).toFixed(0)} %`)),
        )
      : null,
  );
}

/** The four feedback buttons; `onStatus` gets the anomaly's new status. */
export function feedbackButtons(id: number, onStatus: (status: string) => void): HTMLElement {
  const message = h("span", { class: "muted small", role: "status" });
  const buttons = FEEDBACK.map((f) =>
    h(
      "button",
      {
        type: "button",
        title: f.title,
        "data-feedback": f.label,
        onclick: async (event: Event) => {
          const button = event.currentTarget as HTMLButtonElement;
          button.disabled = true;
          try {
            const answer = await api.feedback(id, f.label);
            onStatus(answer.status);
            message.textContent = `Recorded: ${f.text.toLowerCase()}.`;
          } catch (error) {
            message.textContent = `Not recorded: ${(error as Error).message}`;
          } finally {
            button.disabled = false;
          }
        },
      },
      f.text,
    ),
  );
  return h("div", { class: "feedback", role: "group", "aria-label": "Feedback" }, buttons, message);
}
