/**
 * A dozen-line `h()` for building DOM nodes, hand-written because the client deliberately has no
 * framework. Text always goes in as text nodes (never innerHTML), so user content cannot inject markup.
 */
type Child = Node | string | number | null | undefined | false | Child[];
type AttrValue = string | number | boolean | null | undefined | ((event: never) => void);
export type Attrs = Record<string, AttrValue>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    else if (key === "value" || key === "checked") Object.assign(el, { [key]: value });
    else el.setAttribute(key === "className" ? "class" : key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replaceChildren(parent: Element, ...children: Child[]) {
  parent.replaceChildren();
  append(parent, children);
}

/** Announce a short status to screen readers (one polite live region for the whole app). */
export function announce(text: string) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  // A separate task so that repeating the same text is announced again.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

export const formatBytes = (n: number) =>
  n < 1024
    ? `${n} B`
    : n < 1024 * 1024
      ? `${(n / 1024).toFixed(0)} KB`
      : `${(n / 1024 / 1024).toFixed(1)} MB`;

export const formatTime = (iso: string) =>
  new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/** Render a form error under a form: a problem's field messages or its detail. */
export function errorText(err: unknown): string {
  if (err && typeof err === "object" && "problem" in err) {
    const p = (
      err as { problem: { detail?: string; title: string; errors?: { path: string; message: string }[] } }
    ).problem;
    const fields = p.errors?.map((e) => `${e.path}: ${e.message}`).join("; ");
    return fields || p.detail || p.title;
  }
  return err instanceof Error ? err.message : "Something went wrong.";
}

const ICONS: Record<string, string[]> = {
  bell: ["M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9", "M10.3 21a1.94 1.94 0 0 0 3.4 0"],
  clip: [
    "M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48",
  ],
  menu: ["M4 6h16", "M4 12h16", "M4 18h16"],
  lock: ["M5 11h14v10H5z", "M8 11V7a4 4 0 0 1 8 0v4"],
  file: ["M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z", "M14 2v6h6"],
};

/** A small stroke icon (inline SVG, decorative: hidden from assistive technology). */
export function icon(name: keyof typeof ICONS & string): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  for (const d of ICONS[name] ?? []) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

/** The Petrel mark (same drawing as favicon.svg). */
export function logo(): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 64 64");
  svg.setAttribute("class", "logo");
  svg.setAttribute("aria-hidden", "true");
  const rect = document.createElementNS(ns, "rect");
  for (const [k, v] of Object.entries({ width: "64", height: "64", rx: "14", fill: "#0f766e" }))
    rect.setAttribute(k, v);
  const bird = document.createElementNS(ns, "path");
  bird.setAttribute("d", "M10 38c10-2 18-10 24-20 4 8 10 12 20 12-8 4-14 10-18 18-6-6-14-9-26-10z");
  bird.setAttribute("fill", "#fff");
  svg.append(rect, bird);
  return svg;
}
