// A tiny DOM builder (no framework). Attributes and classes only: the CSP forbids inline
// styles, so nothing here ever writes `style`.

type AttrValue = string | number | boolean | null | undefined;
type Handler = (event: Event) => void;
export type Props = { [name: string]: AttrValue | Handler };
export type Child = Node | string | null | undefined | false | readonly Child[];

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (typeof child === "string") {
    parent.appendChild(document.createTextNode(child));
  } else if (Array.isArray(child)) {
    for (const c of child as readonly Child[]) append(parent, c);
  } else {
    parent.appendChild(child as Node);
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (typeof value === "function") {
      if (!name.startsWith("on")) throw new Error(`handler prop must start with "on": ${name}`);
      el.addEventListener(name.slice(2), value);
    } else if (name === "style") {
      throw new Error("inline styles are forbidden by the CSP; use a class");
    } else if (name === "value" && "value" in el) {
      (el as HTMLInputElement).value = value === null || value === undefined ? "" : String(value);
    } else if (name === "checked" && el instanceof HTMLInputElement) {
      el.checked = value === true;
    } else if (value === true) {
      el.setAttribute(name, "");
    } else if (value !== false && value !== null && value !== undefined) {
      el.setAttribute(name, String(value));
    }
  }
  for (const child of children) append(el, child);
  return el;
}

/**
 * A translated template with one `{name}` placeholder replaced by a live element (e.g. a
 * countdown updated in place), so word order stays the translator's.
 */
export function withSlot(template: string, name: string, slot: HTMLElement): Array<string | HTMLElement> {
  const marker = `{${name}}`;
  const at = template.indexOf(marker);
  if (at < 0) return [template, " ", slot];
  return [template.slice(0, at), slot, template.slice(at + marker.length)];
}

const SVG_NS = "http://www.w3.org/2000/svg";

export type IconName =
  | "check"
  | "cross"
  | "warning"
  | "clock"
  | "info"
  | "lock"
  | "user"
  | "card"
  | "eye"
  | "eyeOff";

const ICON_SHAPES: Record<IconName, ReadonlyArray<[string, Record<string, string>]>> = {
  check: [["path", { d: "M4 12.5l5 5L20 6.5" }]],
  cross: [["path", { d: "M6 6l12 12M18 6L6 18" }]],
  warning: [
    ["path", { d: "M12 3L2 21h20z" }],
    ["path", { d: "M12 10v5M12 18v.5" }],
  ],
  clock: [
    ["circle", { cx: "12", cy: "12", r: "9" }],
    ["path", { d: "M12 7v5l3.5 2" }],
  ],
  info: [
    ["circle", { cx: "12", cy: "12", r: "9" }],
    ["path", { d: "M12 11v6M12 7.5v.5" }],
  ],
  lock: [
    ["rect", { x: "5", y: "11", width: "14", height: "10", rx: "1.5" }],
    ["path", { d: "M8 11V8a4 4 0 0 1 8 0v3" }],
  ],
  user: [
    ["circle", { cx: "12", cy: "8", r: "4" }],
    ["path", { d: "M4 21c1-4.5 4.5-6.5 8-6.5s7 2 8 6.5" }],
  ],
  card: [
    ["rect", { x: "3", y: "5", width: "18", height: "14", rx: "2" }],
    ["rect", { x: "6", y: "9", width: "5", height: "4", rx: "0.5" }],
    ["path", { d: "M14 10h4M14 14h4" }],
  ],
  eye: [
    ["path", { d: "M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z" }],
    ["circle", { cx: "12", cy: "12", r: "3" }],
  ],
  eyeOff: [
    ["path", { d: "M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z" }],
    ["path", { d: "M4 4l16 16" }],
  ],
};

/** A decorative icon (aria-hidden): the text next to it always carries the meaning. */
export function icon(name: IconName): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `icon icon-${name}`);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2.5");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  for (const [tag, attrs] of ICON_SHAPES[name]) {
    const shape = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) shape.setAttribute(k, v);
    svg.appendChild(shape);
  }
  return svg;
}

/** Remembers which element had focus (by id) and its text selection, to restore after a re-render. */
export function captureFocus(): () => void {
  const active = document.activeElement;
  if (!(active instanceof HTMLElement) || active.id === "") return () => {};
  const id = active.id;
  const selection =
    active instanceof HTMLInputElement && typeof active.selectionStart === "number"
      ? [active.selectionStart, active.selectionEnd ?? active.selectionStart]
      : null;
  return () => {
    const again = document.getElementById(id);
    if (again === null || again === document.activeElement) return;
    again.focus();
    if (selection !== null && again instanceof HTMLInputElement) {
      try {
        again.setSelectionRange(selection[0] ?? 0, selection[1] ?? 0);
      } catch {
        // Inputs such as checkboxes have no selection.
      }
    }
  };
}

export function focusById(id: string): void {
  document.getElementById(id)?.focus();
}
