// The scene graph of the Telos world: a `World` owns the top-level morphs in z-order,
// answers hit tests in logical pixels, converts Tauri's physical drop positions to logical
// ones, and counts mutations (`version` / `dirty`) so the renderer can skip idle frames.

import {
  cloneMorph,
  containsXY,
  prototypeFor,
  type Morph,
  type MorphProps,
  type Point,
  type Rect,
  type Size,
} from "./morph";

/** The window size the default layout is designed for. */
export const DEFAULT_VIEWPORT: Readonly<Size> = Object.freeze({ width: 1100, height: 720 });

/** Size a persona morph has unless it overrides it (mirrors `personaMorphPrototype`). */
const PERSONA_SIZE: Readonly<Size> = Object.freeze({ width: 180, height: 110 });

/**
 * Converts a physical-pixel position (what Tauri's drag-drop events report) into logical
 * CSS pixels. A missing, zero, negative or non-finite scale factor is treated as 1.
 */
export function toLogical(physical: Point, scaleFactor: number): Point {
  const s = Number.isFinite(scaleFactor) && scaleFactor > 0 ? scaleFactor : 1;
  return { x: physical.x / s, y: physical.y / s };
}

/** Layout cells: the four corners of a 3×3 grid first, then the centre, then the edges. */
const SLOTS: ReadonlyArray<readonly [number, number]> = [
  [0, 0], [2, 0], [0, 2], [2, 2], [1, 1], [1, 0], [0, 1], [2, 1], [1, 2],
];

/** The least room around a morph in its default cell. */
const CELL_MARGIN = 20;

/**
 * Default top-left position of the `index`-th morph that has no stored position. The
 * viewport (the part of the canvas the user sees) is cut into a 3-column grid (3 rows fill
 * the viewport, further rows continue below it); every index gets its own cell and is centred
 * in it. A cell is never smaller than a morph and its margin, so no two default positions
 * overlap, however small the window. The first four land in the four corners.
 */
export function defaultLayout(
  index: number,
  viewport: Size = DEFAULT_VIEWPORT,
  size: Size = PERSONA_SIZE,
): Point {
  const i = Math.max(0, Math.floor(index));
  const slot = SLOTS[i];
  const col = slot ? slot[0] : (i - SLOTS.length) % 3;
  const row = slot ? slot[1] : 3 + Math.floor((i - SLOTS.length) / 3);
  const cellW = Math.max(viewport.width / 3, size.width + CELL_MARGIN);
  const cellH = Math.max(viewport.height / 3, size.height + CELL_MARGIN);
  return {
    x: Math.round(col * cellW + (cellW - size.width) / 2),
    y: Math.round(row * cellH + (cellH - size.height) / 2),
  };
}

function find(list: readonly Morph[] | undefined, id: string): Morph | undefined {
  if (!list) return undefined;
  for (const m of list) {
    if (m.id === id) return m;
    const inner = find(m.children, id);
    if (inner) return inner;
  }
  return undefined;
}

function removeFrom(list: Morph[] | undefined, id: string): boolean {
  if (!list) return false;
  const i = list.findIndex((m) => m.id === id);
  if (i >= 0) {
    list.splice(i, 1);
    return true;
  }
  return list.some((m) => removeFrom(m.children, id));
}

/** Topmost morph in `list` (or among its descendants) containing (px, py), owner coords. */
function hit(list: readonly Morph[], px: number, py: number): Morph | undefined {
  for (let i = list.length - 1; i >= 0; i--) {
    const m = list[i]!;
    if (m.children && m.children.length > 0) {
      const child = hit(m.children, px - m.x, py - m.y);
      if (child) return child;
    }
    if (containsXY(m, px, py)) return m;
  }
  return undefined;
}

/** Sets `flag` on exactly the morphs `ids` (or none); returns whether anything changed. */
function mark(list: readonly Morph[], flag: "hover" | "selected", ids: readonly (string | null)[]): boolean {
  let changed = false;
  for (const m of list) {
    const want = ids.includes(m.id);
    if (m[flag] !== want) {
      m[flag] = want;
      changed = true;
    }
    if (m.children && mark(m.children, flag, ids)) changed = true;
  }
  return changed;
}

/** Room around a morph that its drawing may use (the hover ring). */
const RING = 6;

function grown(r: Rect): Rect {
  return { x: r.x - RING, y: r.y - RING, width: r.width + RING * 2, height: r.height + RING * 2 };
}

function union(a: Rect, b: Rect): Rect {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return {
    x,
    y,
    width: Math.max(a.x + a.width, b.x + b.width) - x,
    height: Math.max(a.y + a.height, b.y + b.height) - y,
  };
}

/** The root of the scene graph. Top-level morphs are kept back to front. */
export class World {
  private readonly order: Morph[] = [];
  /** Bumped by every mutation. */
  version = 0;
  /** True when something changed since the last `markClean()`; starts true. */
  dirty = true;
  /** What needs redrawing: everything, one area (Morphic's damage), or nothing. */
  private damaged: Rect | "all" | null = "all";

  /** Records a mutation. Call it after changing a morph directly (e.g. `m.moveTo`). */
  touch(): void {
    this.version++;
    this.dirty = true;
    this.damaged = "all";
  }

  /** Records a mutation that only changed what lies inside `area`. */
  touchArea(area: Rect): void {
    this.version++;
    this.dirty = true;
    if (this.damaged !== "all") this.damaged = this.damaged ? union(this.damaged, area) : area;
  }

  /** What must be redrawn since the last frame: "all", one area, or null for nothing. */
  damage(): Rect | "all" | null {
    return this.damaged;
  }

  /** The renderer calls this after drawing a frame. */
  markClean(): void {
    this.dirty = false;
    this.damaged = null;
  }

  /** Top-level morphs back to front. The live array: do not mutate, do not keep. */
  morphs(): readonly Morph[] {
    return this.order;
  }

  get size(): number {
    return this.order.length;
  }

  /** Adds `morph` on top. Throws if a morph with the same id is already in the world. */
  add(morph: Morph): Morph {
    if (this.get(morph.id)) throw new Error(`morph ${morph.id} is already in the world`);
    this.order.push(morph);
    this.touch();
    return morph;
  }

  /** Removes the morph `id` (top-level or a submorph); returns whether it was there. */
  remove(id: string): boolean {
    const removed = removeFrom(this.order, id);
    if (removed) this.touch();
    return removed;
  }

  /** The morph `id`, top-level or nested. */
  get(id: string): Morph | undefined {
    return find(this.order, id);
  }

  /**
   * Updates the morph `id` in place (same object) or, if absent, clones a new top-level one
   * from the prototype of `props.kind` (default "object"), placed by `defaultLayout` unless
   * `props` gives x/y. A kind change re-parents the morph onto the other prototype.
   */
  upsert(id: string, props: MorphProps = {}): Morph {
    const existing = this.get(id);
    const { kind, ...rest } = props;
    if (existing) {
      if (kind && kind !== existing.kind) {
        Object.setPrototypeOf(existing, prototypeFor(kind));
        delete (existing as Partial<Morph>).kind;
      }
      Object.assign(existing, rest);
      if (rest.badges) existing.badges = rest.badges.slice();
      if (rest.children) existing.children = rest.children.slice();
      this.touch();
      return existing;
    }
    const proto = prototypeFor(kind ?? "object");
    const morph = cloneMorph(proto, { ...rest, id });
    if (rest.x === undefined || rest.y === undefined) {
      const size = { width: morph.width, height: morph.height };
      const at = defaultLayout(this.order.length, DEFAULT_VIEWPORT, size);
      morph.moveTo(rest.x ?? at.x, rest.y ?? at.y);
    }
    return this.add(morph);
  }

  /** Moves the morph `id` to (x, y) in its owner's coordinates. Moving a top-level morph
   * without submorphs damages only where it was and where it is. */
  move(id: string, x: number, y: number): boolean {
    const m = this.get(id);
    if (!m) return false;
    const simple = !m.children?.length && this.order.includes(m);
    const before = simple ? grown(m.bounds()) : null;
    m.moveTo(x, y);
    if (before) this.touchArea(union(before, grown(m.bounds())));
    else this.touch();
    return true;
  }

  /** Raises the top-level morph `id` above all others; returns whether it exists. */
  bringToFront(id: string): boolean {
    const i = this.order.findIndex((m) => m.id === id);
    if (i < 0) return false;
    if (i !== this.order.length - 1) {
      const [m] = this.order.splice(i, 1);
      this.order.push(m!);
      this.touch();
    }
    return true;
  }

  /** Drag-over highlight on exactly the morph `id`, or on none for null. */
  setHover(id: string | null): void {
    if (mark(this.order, "hover", [id])) this.touch();
  }

  /** Selects exactly the morph `id` (and `also`, a pair's other morph), or none for null. */
  select(id: string | null, also: string | null = null): void {
    if (mark(this.order, "selected", [id, also])) this.touch();
  }

  /** The topmost morph containing the logical `point`; submorphs win over their owner. */
  hitTest(point: Point): Morph | undefined {
    return hit(this.order, point.x, point.y);
  }

  /** See the `toLogical` function. */
  toLogical(physical: Point, scaleFactor: number): Point {
    return toLogical(physical, scaleFactor);
  }
}
