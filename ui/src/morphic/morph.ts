// Morphs, the visible objects of the Telos world, built the way the image itself is built:
// from prototypes. `morphPrototype` holds the default slots and the behaviour; every concrete
// morph is a clone (`Object.create(proto)`) that keeps only the slots it overrides and
// delegates everything else to its prototype, Self-style. No DOM access here.

export type MorphKind = "persona" | "object";
export type BadgeTone = "info" | "ok" | "warn" | "error";

/** A small pill drawn on a morph, e.g. `{ label: "model offline", tone: "warn" }`. */
export interface Badge {
  label: string;
  tone: BadgeTone;
}

export interface Point {
  x: number;
  y: number;
}

export interface Size {
  width: number;
  height: number;
}

export interface Rect extends Point, Size {}

/** The data slots of a morph. Positions are logical (CSS) pixels, relative to the owner. */
export interface MorphState {
  /** The id of the image object this morph shows. */
  id: string;
  name: string;
  kind: MorphKind;
  /** Top-left corner, relative to the owner (the world for top-level morphs). */
  x: number;
  y: number;
  width: number;
  height: number;
  pinned: boolean;
  badges: Badge[];
  /** Drag-over highlight. */
  hover: boolean;
  selected: boolean;
  fill: string;
  stroke: string;
  textColor: string;
  /** Submorphs; their x/y are relative to this morph's top-left corner. */
  children?: Morph[];
}

/** The behaviour every morph inherits from `morphPrototype`. */
export interface MorphBehaviour {
  /** This morph's rectangle, offset by `origin` (the owner's absolute position). */
  bounds(origin?: Point): Rect;
  /** Whether `point` (in the owner's coordinate space) lies inside this morph. Half-open. */
  contains(point: Point): boolean;
  moveTo(x: number, y: number): void;
  moveBy(dx: number, dy: number): void;
  center(): Point;
}

export interface Morph extends MorphState, MorphBehaviour {}

/** Slots that may be given to a clone or to `World.upsert`. */
export type MorphProps = Partial<Omit<MorphState, "id">>;

const behaviour: MorphBehaviour & ThisType<Morph> = {
  bounds(origin?: Point): Rect {
    const ox = origin ? origin.x : 0;
    const oy = origin ? origin.y : 0;
    return { x: this.x + ox, y: this.y + oy, width: this.width, height: this.height };
  },
  contains(point: Point): boolean {
    return containsXY(this, point.x, point.y);
  },
  moveTo(x: number, y: number): void {
    this.x = x;
    this.y = y;
  },
  moveBy(dx: number, dy: number): void {
    this.x += dx;
    this.y += dy;
  },
  center(): Point {
    return { x: this.x + this.width / 2, y: this.y + this.height / 2 };
  },
};

/** Allocation-free containment test used by hit-testing: [x, x+width) × [y, y+height). */
export function containsXY(m: Rect, px: number, py: number): boolean {
  return px >= m.x && px < m.x + m.width && py >= m.y && py < m.y + m.height;
}

/**
 * Makes a new morph that delegates to `proto` and owns exactly the slots in `own`.
 * The clone always gets its own `badges` array (a copy), so pushing a badge onto one
 * morph can never show up on its prototype or a sibling.
 */
export function cloneMorph<T extends Morph>(proto: T, own: Partial<Morph> = {}): T {
  const clone = Object.create(proto) as T;
  Object.assign(clone, own);
  clone.badges = own.badges ? own.badges.slice() : [];
  if (own.children) clone.children = own.children.slice();
  return clone;
}

/** Clones `proto` into a new prototype: sealed (no slots added or removed), badges frozen. */
function definePrototype<T extends Morph>(proto: T, own: Partial<Morph>): T {
  const p = cloneMorph(proto, own);
  p.badges = Object.freeze([]) as unknown as Badge[];
  return Object.seal(p);
}

/** The root prototype: default slots plus all behaviour. */
export const morphPrototype: Morph = Object.seal(
  Object.assign({}, behaviour, {
    id: "",
    name: "morph",
    kind: "object" as MorphKind,
    x: 0,
    y: 0,
    width: 120,
    height: 60,
    pinned: false,
    badges: Object.freeze([]) as unknown as Badge[],
    hover: false,
    selected: false,
    fill: "#f4f1ea",
    stroke: "#8a8579",
    textColor: "#2b2925",
  }) as Morph,
);

/** Personas (ALFRED, BRICK, ROBIN, BABS…): larger, warm-coloured cards. */
export const personaMorphPrototype: Morph = definePrototype(morphPrototype, {
  name: "persona",
  kind: "persona",
  width: 180,
  height: 110,
  fill: "#fff4de",
  stroke: "#c98a2b",
  textColor: "#3d2a0c",
});

/** Pinned image objects: smaller, cool-coloured cards. */
export const objectMorphPrototype: Morph = definePrototype(morphPrototype, {
  name: "object",
  kind: "object",
  width: 140,
  height: 64,
  fill: "#e8f0f7",
  stroke: "#4a7aa6",
  textColor: "#17324a",
});

/** The prototype concrete morphs of `kind` are cloned from. */
export function prototypeFor(kind: MorphKind): Morph {
  return kind === "persona" ? personaMorphPrototype : objectMorphPrototype;
}
