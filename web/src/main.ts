// The dashboard's shell: client-side routing between pages, theme, keyboard shortcuts.

import "./style.css";
import { h, replace } from "./dom";
import { renderOverview } from "./pages/overview";
import { renderSeries } from "./pages/series";
import { renderAnomalies } from "./pages/anomalies";
import { renderAlerts } from "./pages/alerts";
import { renderMachines } from "./pages/machines";
import { renderEvents } from "./pages/events";
import { renderSecurity } from "./pages/security";
import { renderLogs } from "./pages/logs";
import { renderNetwork } from "./pages/network";
import { navigate, setRouter } from "./nav";
import { initSession } from "./session";

/** A page draws itself into `root` and returns its cleanup (close streams, timers). */
export type Page = (root: HTMLElement, params: URLSearchParams) => () => void;

const PAGES: Record<string, { id: string; title: string; render: Page }> = {
  "/": { id: "overview", title: "Overview", render: renderOverview },
  "/series": { id: "series", title: "Series", render: renderSeries },
  "/anomalies": { id: "anomalies", title: "Anomalies", render: renderAnomalies },
  "/alerts": { id: "alerts", title: "Alerts", render: renderAlerts },
  "/machines": { id: "machines", title: "Machines", render: renderMachines },
  "/events": { id: "events", title: "Events", render: renderEvents },
  "/security": { id: "security", title: "Security", render: renderSecurity },
  "/logs": { id: "logs", title: "Logs", render: renderLogs },
  "/network": { id: "network", title: "Network", render: renderNetwork },
};

let cleanup: (() => void) | null = null;

function route(): void {
  cleanup?.();
  cleanup = null;
  const root = document.getElementById("app")!;
  const page = PAGES[location.pathname];
  for (const link of document.querySelectorAll<HTMLAnchorElement>("nav a[data-page]")) {
    if (page && link.dataset.page === page.id) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!page) {
    replace(root, h("section", { class: "empty" }, h("h1", null, "Not found"), h("p", null, "No page at ", location.pathname, ". ", h("a", { href: "/", "data-nav": true }, "Go to the overview"), ".")));
    return;
  }
  document.title = `${page.title} · lookout`;
  root.replaceChildren();
  cleanup = page.render(root, new URLSearchParams(location.search));
}

setRouter(route);

document.addEventListener("click", (event) => {
  const link = (event.target as Element).closest?.("a[data-nav]") as HTMLAnchorElement | null;
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(link.getAttribute("href")!);
  document.getElementById("main")?.focus({ preventScroll: true });
});
window.addEventListener("popstate", route);

function applyTheme(theme: string): void {
  document.documentElement.dataset.theme = theme;
  const button = document.getElementById("theme-toggle");
  if (button) button.textContent = theme === "dark" ? "Light" : "Dark";
}

function toggleTheme(): void {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  localStorage.setItem("lookout-theme", next);
  applyTheme(next);
  route(); // charts read their colours when drawn
}

applyTheme(localStorage.getItem("lookout-theme") ?? "dark");

// Links of the form /#/series?match=...&from=...&to=... (as alert messages may carry)
// open the same page as /series?match=...
if (location.hash.startsWith("#/")) history.replaceState(null, "", location.hash.slice(1));
document.getElementById("theme-toggle")?.addEventListener("click", toggleTheme);

// Keyboard: g then o/s/a/l/m/e/x/g/n goes to a page, t toggles the theme, / focuses the search.
let pendingG = false;
document.addEventListener("keydown", (event) => {
  const target = event.target as HTMLElement;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName)) return;
  if (pendingG) {
    pendingG = false;
    const to: Record<string, string> = { o: "/", s: "/series", a: "/anomalies", l: "/alerts", m: "/machines", e: "/events", x: "/security", g: "/logs", n: "/network" };
    if (to[event.key]) {
      event.preventDefault();
      navigate(to[event.key]);
    }
    return;
  }
  if (event.key === "g") pendingG = true;
  else if (event.key === "t") toggleTheme();
  else if (event.key === "/") {
    const search = document.querySelector<HTMLInputElement>("input[data-search]");
    if (search) {
      event.preventDefault();
      search.focus();
    }
  }
});

initSession(route);
route();
