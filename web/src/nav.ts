// Client-side navigation, shared by the shell and the pages.

let onRoute: () => void = () => {};

export function setRouter(route: () => void): void {
  onRoute = route;
}

/** Goes to a dashboard URL without reloading. */
export function navigate(url: string, replaceState = false): void {
  if (replaceState) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  onRoute();
}
