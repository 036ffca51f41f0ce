/**
 * History-API routing under /app/. Every screen has a real URL (deep links work: the Worker answers
 * unknown /app/* paths with index.html), and in-app links stay plain <a href> for keyboard and
 * middle-click, intercepted here to avoid a reload.
 */
export const BASE = "/app";

export type Route =
  | { name: "login" | "register" | "forgot" | "home" }
  | { name: "org"; orgId: string }
  | { name: "room"; roomId: string }
  | { name: "invitation"; token: string }
  | { name: "oauth"; code: string | null; error: string | null }
  | { name: "verify"; token: string | null }
  | { name: "reset"; token: string | null };

export function parse(loc: Location = window.location): Route {
  const path = loc.pathname.startsWith(BASE) ? loc.pathname.slice(BASE.length) : loc.pathname;
  const q = new URLSearchParams(loc.search);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case "login":
    case "register":
    case "forgot":
      return { name: parts[0] };
    case "orgs":
      if (parts[1]) return { name: "org", orgId: parts[1] };
      break;
    case "rooms":
      if (parts[1]) return { name: "room", roomId: parts[1] };
      break;
    case "invitations":
      if (parts[1]) return { name: "invitation", token: parts[1] };
      break;
    case "oauth":
      return { name: "oauth", code: q.get("code"), error: q.get("error") };
    case "verify-email":
      return { name: "verify", token: q.get("token") };
    case "reset-password":
      return { name: "reset", token: q.get("token") };
  }
  return { name: "home" };
}

export const href = (path: string) => `${BASE}${path.startsWith("/") ? path : `/${path}`}`;

let onChange: (() => void) | undefined;

export function navigate(path: string, opts: { replace?: boolean } = {}) {
  const url = href(path);
  if (opts.replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  onChange?.();
}

/** Start routing: `render` runs now, on back/forward and on every in-app link or navigate(). */
export function startRouter(render: () => void) {
  onChange = render;
  window.addEventListener("popstate", render);
  document.addEventListener("click", (e) => {
    const a = (e.target as Element | null)?.closest?.("a");
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
      return;
    const url = new URL(a.href, window.location.href);
    if (url.origin !== window.location.origin || !url.pathname.startsWith(`${BASE}/`) || a.target) return;
    e.preventDefault();
    if (url.pathname + url.search !== window.location.pathname + window.location.search) {
      history.pushState(null, "", url.pathname + url.search);
      render();
    }
  });
  render();
}
