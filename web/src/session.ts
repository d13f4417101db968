// Sign-in when lookout's [auth] is on: a token in, a session cookie (HttpOnly,
// SameSite=Strict, set by the server) and a CSRF token out. The CSRF token is kept in
// sessionStorage and sent by api.ts on POST and DELETE.

import { ApiError, csrfToken, del, get, post, setCsrfToken, setUnauthorizedHandler } from "./api";
import { h, replace } from "./dom";

export interface SessionInfo {
  auth?: boolean;
  name: string;
  role: string | null;
  csrf_token?: string;
}

export const signIn = (token: string) => post<SessionInfo>("/api/v1/session", { token });

function showSignedIn(info: SessionInfo | null, rerender: () => void): void {
  const button = document.getElementById("sign-out") as HTMLButtonElement | null;
  if (!button) return;
  button.hidden = !info || info.auth === false;
  if (!info) return;
  button.textContent = `Sign out (${info.name})`;
  button.onclick = async () => {
    try {
      if (csrfToken()) await del("/api/v1/session");
    } catch {
      // already signed out
    }
    setCsrfToken(null);
    showSignedIn(null, rerender);
    showSignInForm(rerender);
  };
}

/** Replaces the page with the sign-in form; `rerender` draws the page again after. */
export function showSignInForm(rerender: () => void): void {
  if (document.querySelector("form.sign-in")) return;
  const root = document.getElementById("app")!;
  const input = h("input", { type: "password", name: "token", autocomplete: "current-password", required: true, "aria-label": "API token", placeholder: "lk_..." });
  const message = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    {
      class: "sign-in",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        message.textContent = "";
        try {
          const info = await signIn(input.value.trim());
          setCsrfToken(info.csrf_token ?? null);
          showSignedIn(info, rerender);
          rerender();
        } catch (error) {
          message.textContent = error instanceof ApiError && error.status === 401 ? "Unknown token." : String((error as Error).message ?? error);
        }
      },
    },
    h("h1", null, "Sign in"),
    h("p", null, "This lookout requires an API token (", h("code", null, "lookout token create"), ")."),
    h("label", null, "Token ", input),
    h("button", { type: "submit" }, "Sign in"),
    message,
  );
  replace(root, h("section", { class: "empty" }, form));
  input.focus();
}

/** Sets up sign-in: the 401 handler, and the sign-out button when signed in. */
export function initSession(rerender: () => void): void {
  // After the failing page has drawn its error, so that the form is what stays.
  setUnauthorizedHandler(() => setTimeout(() => showSignInForm(rerender), 0));
  get<SessionInfo>("/api/v1/session")
    .then((info) => {
      if (info.csrf_token) setCsrfToken(info.csrf_token);
      showSignedIn(info, rerender);
    })
    .catch(() => showSignedIn(null, rerender));
}
