// Building DOM without innerHTML: every text goes in as text.

type Handlers = { [E in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[E]) => void };

export type Props = {
  class?: string;
  /** `data-testid`, for the end-to-end tests. */
  testid?: string;
  title?: string;
  text?: string;
  attrs?: Record<string, string>;
  data?: Record<string, string>;
  on?: Handlers;
};

export type Child = Node | string | null | undefined | false;

// Handlers live in a registry rather than on the element, so that `fill` can move the handlers
// of a freshly built element onto the live one it keeps in its place.
const handlers = new WeakMap<Element, Map<string, (ev: Event) => void>>();

function dispatch(this: Element, ev: Event): void {
  handlers.get(this)?.get(ev.type)?.(ev);
}

/** Sets `el`'s handler for events of `type` (one per type; `fill` carries it over). */
export function on<E extends keyof HTMLElementEventMap>(el: Element, type: E, fn: (ev: HTMLElementEventMap[E]) => void): void {
  let map = handlers.get(el);
  if (!map) {
    map = new Map();
    handlers.set(el, map);
  }
  if (!map.has(type)) el.addEventListener(type, dispatch);
  map.set(type, fn as (ev: Event) => void);
}

/** An element with these properties and children (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.testid) el.dataset.testid = props.testid;
  if (props.title) el.title = props.title;
  if (props.text !== undefined) el.textContent = props.text;
  for (const [k, v] of Object.entries(props.attrs ?? {})) el.setAttribute(k, v);
  for (const [k, v] of Object.entries(props.data ?? {})) el.dataset[k] = v;
  for (const [type, fn] of Object.entries(props.on ?? {})) {
    if (fn) on(el, type as keyof HTMLElementEventMap, fn as (ev: Event) => void);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c);
  }
  return el;
}

/** A button that runs `onClick`. */
export function button(label: string, onClick: () => void, props: Props = {}): HTMLButtonElement {
  const b = h("button", { ...props, text: label }, null);
  b.type = "button";
  on(b, "click", onClick);
  return b;
}

/** A link-styled button (no navigation: the page handles it). */
export function linkButton(label: string, onClick: () => void, props: Props = {}): HTMLButtonElement {
  return button(label, onClick, { ...props, class: `link ${props.class ?? ""}`.trim() });
}

/** A cycle state badge. */
export function badge(state: string, props: Props = {}): HTMLSpanElement {
  return h("span", { ...props, class: `badge badge-${state} ${props.class ?? ""}`.trim(), text: state });
}

const present = (c: Child): c is Node | string => c !== null && c !== undefined && c !== false;

/**
 * Makes `el`'s children look like `children`, changing the live DOM as little as it can:
 * elements of the same tag and test id are kept (with their focus, caret, scroll and open
 * state) and updated in place, so end-to-end tests' element references stay valid.
 */
export function fill(el: Element, ...children: Child[]): void {
  const next = children.filter(present).map((c) => (typeof c === "string" ? document.createTextNode(c) : c));
  patchChildren(el, next);
}

function patchChildren(el: Node, next: Node[]): void {
  const old = Array.from(el.childNodes);
  next.forEach((n, i) => {
    const o = old[i];
    if (!o) el.appendChild(n);
    else if (sameKind(o, n)) patchNode(o, n);
    else el.replaceChild(n, o);
  });
  for (const o of old.slice(next.length)) o.remove();
}

function sameKind(a: Node, b: Node): boolean {
  if (a.nodeType !== b.nodeType) return false;
  if (!(a instanceof Element) || !(b instanceof Element)) return true;
  return a.tagName === b.tagName && a.getAttribute("data-testid") === b.getAttribute("data-testid");
}

function patchNode(o: Node, n: Node): void {
  if (!(o instanceof Element) || !(n instanceof Element)) {
    if (o.nodeValue !== n.nodeValue) o.nodeValue = n.nodeValue;
    return;
  }
  for (const a of Array.from(o.attributes)) {
    // A <details> the user opened stays open.
    if (a.name === "open" && o.tagName === "DETAILS") continue;
    if (!n.hasAttribute(a.name)) o.removeAttribute(a.name);
  }
  for (const a of Array.from(n.attributes)) {
    if (o.getAttribute(a.name) !== a.value) o.setAttribute(a.name, a.value);
  }
  if ((o instanceof HTMLTextAreaElement || o instanceof HTMLInputElement) && (n instanceof HTMLTextAreaElement || n instanceof HTMLInputElement)) {
    if (o.value !== n.value) o.value = n.value;
  }
  // Carry the new handlers over (their closures hold the current state).
  const fresh = handlers.get(n);
  const kept = handlers.get(o);
  if (kept) for (const type of kept.keys()) if (!fresh?.has(type)) kept.delete(type);
  for (const [type, fn] of fresh ?? []) on(o, type as keyof HTMLElementEventMap, fn);
  patchChildren(o, Array.from(n.childNodes));
}

/** Appends the children that are present. */
export function append(el: Element, ...children: Child[]): void {
  el.append(...children.filter(present));
}

/** What has the keyboard, so a re-render can give it back: the element's test id and caret. */
export type FocusMark = { testid: string; start: number | null; end: number | null; scroll: number };

export function markFocus(): FocusMark | null {
  const el = document.activeElement;
  if (!(el instanceof HTMLElement) || !el.dataset.testid) return null;
  const text = el instanceof HTMLTextAreaElement || el instanceof HTMLInputElement ? el : null;
  return {
    testid: el.dataset.testid,
    start: text?.selectionStart ?? null,
    end: text?.selectionEnd ?? null,
    scroll: el.scrollTop,
  };
}

/** Gives the keyboard back after a redraw, unless the element kept it (see `fill`). */
export function restoreFocus(mark: FocusMark | null): void {
  if (!mark) return;
  const active = document.activeElement;
  if (active instanceof HTMLElement && active.dataset.testid === mark.testid) return;
  const el = document.querySelector<HTMLElement>(`[data-testid="${CSS.escape(mark.testid)}"]`);
  if (!el) return;
  el.focus({ preventScroll: true });
  if ((el instanceof HTMLTextAreaElement || el instanceof HTMLInputElement) && mark.start !== null) {
    try {
      el.setSelectionRange(mark.start, mark.end ?? mark.start);
    } catch {
      // some input types have no selection
    }
  }
  el.scrollTop = mark.scroll;
}

/** Grows a textarea to fit its text (wrapped lines included), up to `maxRows` lines. */
export function autosize(ta: HTMLTextAreaElement, maxRows = 24): void {
  ta.dataset.autosize = String(maxRows);
  ta.rows = Math.min(maxRows, Math.max(2, ta.value.split("\n").length)); // until it is shown
  if (ta.isConnected) fitHeight(ta);
}

function fitHeight(ta: HTMLTextAreaElement): void {
  const max = Number(ta.dataset.autosize) || 24;
  const style = getComputedStyle(ta);
  const line = parseFloat(style.lineHeight) || 1.45 * parseFloat(style.fontSize) || 18;
  const chrome = ta.offsetHeight - ta.clientHeight; // borders
  ta.style.height = "auto";
  ta.style.height = `${Math.min(ta.scrollHeight + chrome, Math.ceil(max * line) + chrome + 8)}px`;
}

/** Fits every autosized textarea under `root`, after a redraw. */
export function autosizeAll(root: ParentNode = document): void {
  root.querySelectorAll<HTMLTextAreaElement>("textarea[data-autosize]").forEach(fitHeight);
}
