// Draws a `World` onto a 2D canvas context: each morph back to front as a rounded card
// (colours from its prototype), a ring when hovered or selected, its name and its badges
// as pills. Kept lean for per-frame use: no shadows, no per-morph objects or strings.

import type { Badge, BadgeTone, Morph, Rect } from "./morph";
import type { World } from "./scene";
import { visibleMorphs } from "./occlusion";

/** The part of CanvasRenderingContext2D the renderer uses (tests pass a recording fake). */
export type DrawContext = Pick<
  CanvasRenderingContext2D,
  | "setTransform"
  | "clearRect"
  | "fillRect"
  | "beginPath"
  | "moveTo"
  | "arcTo"
  | "closePath"
  | "fill"
  | "stroke"
  | "fillText"
  | "measureText"
  | "fillStyle"
  | "strokeStyle"
  | "lineWidth"
  | "font"
  | "textAlign"
  | "textBaseline"
>;

/** A context that can also copy images: what the sprite cache needs from the target. */
type BlitContext = DrawContext &
  Partial<Pick<CanvasRenderingContext2D, "drawImage" | "save" | "restore" | "rect" | "clip">>;

export interface DrawOptions {
  /** Canvas size in logical pixels. */
  width: number;
  height: number;
  /** Device pixels per logical pixel (window.devicePixelRatio / Tauri's scale factor). */
  scaleFactor?: number;
  /** Background fill; the canvas is cleared (transparent) when omitted. */
  background?: string;
  /** Cached images of morphs: each morph is drawn once per look and copied every frame. */
  sprites?: SpriteCache;
  /** Redraw only the world's damaged area when it has one (the canvas keeps the rest). */
  partial?: boolean;
  /** Skip morphs hidden behind opaque cards in front of them (default on; never changes a pixel). */
  cull?: boolean;
}

/** Makes an offscreen canvas of a size in device pixels (the DOM's canvas in the app). */
export type CanvasFactory = (width: number, height: number) => {
  image: CanvasImageSource;
  ctx: DrawContext;
} | null;

/** Room around a hovered morph's card in its frame image, for the ring. */
const SPRITE_MARGIN = 5;

/** A cached image of part of a morph, and where it sits from the morph's top-left. */
interface Layer {
  image: CanvasImageSource;
  dx: number;
  dy: number;
  w: number;
  h: number;
}

/** Shared layers kept before the cache starts afresh (looks come and go as morphs change). */
const SHARED_LIMIT = 256;

/**
 * Morphic's cached forms: a morph is drawn once per look and copied with `drawImage` every
 * frame after that, which keeps text and curves off the per-frame path. A morph is cut in
 * three layers: its frame (ring and card) and its badge row are shared by every morph that
 * looks the same, and only its name is its own. Copying the same image many times is about
 * three times cheaper than copying as many different images of the same size (the source
 * stays in the CPU's cache), which is what a frame of many similar morphs mostly does.
 */
export class SpriteCache {
  private shared = new Map<string, Layer>();
  private drawn = new WeakMap<Morph, Drawn>();

  constructor(private make: CanvasFactory) {}

  /** Copies the morph's image to (x, y); false when it cannot (then draw it directly). */
  blit(ctx: BlitContext, m: Morph, x: number, y: number, scale: number): boolean {
    if (!ctx.drawImage) return false;
    let d = this.drawn.get(m);
    // The look is compared field by field: a frame of unchanged morphs allocates nothing.
    if (!d || !sameLook(d.look, m, scale)) {
      const made = this.layers(ctx, m, scale, d);
      if (!made) return false;
      this.drawn.set(m, made);
      d = made;
    }
    copy(ctx, d.frame, x, y);
    copy(ctx, d.name, x, y);
    if (d.badges) copy(ctx, d.badges, x, y);
    return true;
  }

  /** The morph's layers for its look now, reusing its name from `before` when that holds. */
  private layers(ctx: DrawContext, m: Morph, scale: number, before: Drawn | undefined): Drawn | null {
    const frame = this.sharedLayer(frameKey(m, scale), () => this.frameLayer(m, scale));
    const b = before?.look;
    const sameName = b && b.scale === scale && b.name === m.name && b.textColor === m.textColor && b.width === m.width;
    const name = frame && (sameName ? before.name : this.nameLayer(ctx, m, scale));
    const badges =
      m.badges.length === 0 ? undefined : name && this.sharedLayer(badgesKey(m, scale), () => this.badgesLayer(ctx, m, scale));
    if (!frame || !name || badges === null) return null;
    return { look: lookOf(m, scale), frame, name, badges };
  }

  private sharedLayer(key: string, draw: () => Layer | null): Layer | null {
    let layer = this.shared.get(key);
    if (!layer) {
      const made = draw();
      if (!made) return null;
      if (this.shared.size >= SHARED_LIMIT) this.shared.clear();
      this.shared.set(key, made);
      layer = made;
    }
    return layer;
  }

  private nameLayer(ctx: DrawContext, m: Morph, scale: number): Layer | null {
    ctx.font = NAME_FONT;
    const textWidth = Math.min(Math.ceil(ctx.measureText(m.name).width), m.width - PAD * 2);
    // Room around the text for overhanging glyphs, accents above and descenders below.
    return this.layer(PAD - 2, PAD - 4, textWidth + 4, NAME_LINE, scale, (c) => drawName(c, m, 0, 0));
  }

  private frameLayer(m: Morph, scale: number): Layer | null {
    // Without the ring, only the outline's antialiasing reaches outside the card.
    const s = m.hover ? SPRITE_MARGIN : 1;
    return this.layer(-s, -s, m.width + s * 2, m.height + s * 2, scale, (ctx) => drawFrame(ctx, m, 0, 0));
  }

  private badgesLayer(ctx: DrawContext, m: Morph, scale: number): Layer | null {
    const top = badgeRowTop(m.height);
    const pills = layoutBadges(ctx, m.badges, m.width);
    const right = Math.max(PAD, ...pills.map((p) => p.x + p.w + 1));
    const rows = Math.max(1, ...pills.map((p) => p.row + 1));
    const above = rowOffset(rows - 1);
    return this.layer(PAD - 1, top - above - 1, right - PAD + 1, above + PILL_H + 2, scale, (c) =>
      drawBadges(c, m.badges, 0, top, m.width),
    );
  }

  /** Draws a layer at (dx, dy) from the morph's top-left, `w` × `h` logical pixels. */
  private layer(dx: number, dy: number, w: number, h: number, scale: number, draw: (ctx: DrawContext) => void): Layer | null {
    const made = this.make(Math.ceil(w * scale), Math.ceil(h * scale));
    if (!made) return null;
    made.ctx.setTransform(scale, 0, 0, scale, -dx * scale, -dy * scale);
    made.ctx.textAlign = "left";
    made.ctx.textBaseline = "top";
    draw(made.ctx);
    return { image: made.image, dx, dy, w, h };
  }
}

/** A morph's layers and the look they were drawn for. */
interface Drawn {
  look: Look;
  frame: Layer;
  name: Layer;
  badges: Layer | undefined;
}

/** Everything that changes how a morph's card looks. */
type Look = Pick<Morph, "name" | "width" | "height" | "fill" | "stroke" | "textColor" | "hover" | "selected" | "pinned"> & {
  scale: number;
  badges: Badge[];
};

function lookOf(m: Morph, scale: number): Look {
  const { name, width, height, fill, stroke, textColor, hover, selected, pinned } = m;
  const badges = m.badges.map((b) => ({ ...b }));
  return { name, width, height, fill, stroke, textColor, hover, selected, pinned, scale, badges };
}

function sameLook(l: Look, m: Morph, scale: number): boolean {
  if (
    l.scale !== scale ||
    l.name !== m.name ||
    l.width !== m.width ||
    l.height !== m.height ||
    l.fill !== m.fill ||
    l.stroke !== m.stroke ||
    l.textColor !== m.textColor ||
    l.hover !== m.hover ||
    l.selected !== m.selected ||
    l.pinned !== m.pinned ||
    l.badges.length !== m.badges.length
  ) {
    return false;
  }
  for (let i = 0; i < l.badges.length; i++) {
    const a = l.badges[i] as Badge;
    const b = m.badges[i] as Badge;
    if (a.label !== b.label || a.tone !== b.tone) return false;
  }
  return true;
}

function copy(ctx: BlitContext, l: Layer, x: number, y: number): void {
  ctx.drawImage?.(l.image, x + l.dx, y + l.dy, l.w, l.h);
}

/** Everything that changes how a morph's frame looks. */
function frameKey(m: Morph, scale: number): string {
  return `${scale}|${m.width}|${m.height}|${m.fill}|${m.stroke}|${m.hover}|${m.selected}|${m.pinned}`;
}

/** Everything that changes how a morph's badge row looks. */
function badgesKey(m: Morph, scale: number): string {
  let key = `b|${scale}|${m.width}|${m.height}`;
  for (const b of m.badges) key += `|${b.tone}:${b.label}`;
  return key;
}

const RADIUS = 10;
const PAD = 12;
const NAME_FONT = "600 14px system-ui, sans-serif";
/** Height of a name's layer: the 14 px line with room above and below. */
const NAME_LINE = 24;
const BADGE_FONT = "11px system-ui, sans-serif";
const PILL_H = 18;
const PILL_PAD = 7;
const PILL_GAP = 4;
const HOVER_COLOR = "#2f80ed";
const SELECTED_COLOR = "#1b1b1b";

/** Pill fill and text colour per badge tone. */
export const BADGE_COLORS: Readonly<Record<BadgeTone, readonly [string, string]>> = {
  info: ["#dde7f3", "#1f3b57"],
  ok: ["#dcefdc", "#1d4d1d"],
  warn: ["#fbe3b5", "#6b4300"],
  error: ["#f6d0cc", "#7a1a10"],
};

/** Badge label widths (BADGE_FONT), so measureText runs once per label, not every frame. */
const labelWidths = new Map<string, number>();

function labelWidth(ctx: DrawContext, label: string): number {
  let w = labelWidths.get(label);
  if (w === undefined) {
    w = ctx.measureText(label).width;
    if (labelWidths.size >= 512) labelWidths.clear();
    labelWidths.set(label, w);
  }
  return w;
}

function roundRect(ctx: DrawContext, x: number, y: number, w: number, h: number, r: number) {
  const rr = Math.min(r, w / 2, h / 2);
  ctx.beginPath();
  ctx.moveTo(x + rr, y);
  ctx.arcTo(x + w, y, x + w, y + h, rr);
  ctx.arcTo(x + w, y + h, x, y + h, rr);
  ctx.arcTo(x, y + h, x, y, rr);
  ctx.arcTo(x, y, x + w, y, rr);
  ctx.closePath();
}

/** Rows of badges a card holds, the bottom row first; a badge that fits in none is left out. */
const BADGE_ROWS = 2;
const ROW_GAP = 4;

/**
 * The badges that fit on a card `w` wide, each with its pill's left edge, width, row (0 is the
 * bottom row, 1 the one above it) and label (cut with "…" when it is wider than a whole row).
 */
function layoutBadges(ctx: DrawContext, badges: readonly Badge[], w: number) {
  ctx.font = BADGE_FONT;
  const room = w - PAD * 2;
  const pills: { badge: Badge; x: number; w: number; row: number; label: string }[] = [];
  let px = PAD;
  let row = 0;
  for (const badge of badges) {
    const label = fitted(ctx, badge.label, room - PILL_PAD * 2);
    const pw = labelWidth(ctx, label) + PILL_PAD * 2;
    if (px + pw > w - PAD) {
      if (row + 1 >= BADGE_ROWS) break; // no room left: the rest would spill out of the card
      row += 1;
      px = PAD;
    }
    pills.push({ badge, x: px, w: pw, row, label });
    px += pw + PILL_GAP;
  }
  return pills;
}

/** `label`, cut with "…" to at most `room` wide. */
function fitted(ctx: DrawContext, label: string, room: number): string {
  if (labelWidth(ctx, label) <= room) return label;
  let n = label.length;
  while (n > 1 && labelWidth(ctx, `${label.slice(0, n)}…`) > room) n -= 1;
  return `${label.slice(0, n)}…`;
}

/** The offset of badge row `row` above the bottom row. */
function rowOffset(row: number): number {
  return row * (PILL_H + ROW_GAP);
}

/** The badge rows' pills, with the card's left edge at x and the bottom row's top at y. */
function drawBadges(ctx: DrawContext, badges: readonly Badge[], x: number, y: number, w: number) {
  for (const p of layoutBadges(ctx, badges, w)) {
    const colors = BADGE_COLORS[p.badge.tone] ?? BADGE_COLORS.info;
    const top = y - rowOffset(p.row);
    ctx.fillStyle = colors[0];
    roundRect(ctx, x + p.x, top, p.w, PILL_H, PILL_H / 2);
    ctx.fill();
    ctx.fillStyle = colors[1];
    ctx.fillText(p.label, x + p.x + PILL_PAD, top + 4);
  }
}

/** The top of a card's badge row, from the card's top. */
function badgeRowTop(height: number): number {
  return height - PAD / 2 - PILL_H;
}

/** Draws one morph's card (ring, body, name, badges) with its top-left at (x, y). */
function drawCard(ctx: DrawContext, m: Morph, x: number, y: number): void {
  drawFrame(ctx, m, x, y);
  drawName(ctx, m, x, y);
  if (m.badges.length > 0) drawBadges(ctx, m.badges, x, y + badgeRowTop(m.height), m.width);
}

/** The hover ring and the card's body and outline. */
function drawFrame(ctx: DrawContext, m: Morph, x: number, y: number): void {
  const w = m.width;
  const h = m.height;
  if (m.hover) {
    roundRect(ctx, x - 4, y - 4, w + 8, h + 8, RADIUS + 4);
    ctx.strokeStyle = HOVER_COLOR;
    ctx.lineWidth = 3;
    ctx.stroke();
  }
  roundRect(ctx, x, y, w, h, RADIUS);
  ctx.fillStyle = m.fill;
  ctx.fill();
  ctx.strokeStyle = m.selected ? SELECTED_COLOR : m.stroke;
  ctx.lineWidth = m.selected ? 2.5 : m.pinned ? 1.5 : 1;
  ctx.stroke();
}

function drawName(ctx: DrawContext, m: Morph, x: number, y: number): void {
  ctx.font = NAME_FONT;
  ctx.fillStyle = m.textColor;
  ctx.fillText(m.name, x + PAD, y + PAD, m.width - PAD * 2);
}

/** Draws one morph whose owner's top-left is at (ox, oy), then its submorphs on top. */
function drawMorph(
  ctx: BlitContext,
  m: Morph,
  ox: number,
  oy: number,
  scale: number,
  sprites: SpriteCache | undefined,
): number {
  const x = ox + m.x;
  const y = oy + m.y;
  if (!sprites?.blit(ctx, m, x, y, scale)) drawCard(ctx, m, x, y);
  let drawn = 1;
  if (m.children) for (const c of m.children) drawn += drawMorph(ctx, c, x, y, scale, sprites);
  return drawn;
}

/** Draws the whole world back to front; returns how many morphs were drawn. */
export function drawWorld(ctx: BlitContext, world: World, options: DrawOptions): number {
  const s = options.scaleFactor && options.scaleFactor > 0 ? options.scaleFactor : 1;
  ctx.setTransform(s, 0, 0, s, 0, 0);
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  const damage = world.damage();
  if (options.partial && damage && damage !== "all" && ctx.save && ctx.restore && ctx.rect && ctx.clip) {
    ctx.save();
    ctx.beginPath();
    ctx.rect(damage.x, damage.y, damage.width, damage.height);
    ctx.clip();
    paintBackground(ctx, options, damage);
    const drawn = drawMorphs(ctx, world, damage, s, options);
    ctx.restore();
    return drawn;
  }
  const all = { x: 0, y: 0, width: options.width, height: options.height };
  paintBackground(ctx, options, all);
  return drawMorphs(ctx, world, all, s, options);
}

/** The grid `visibleMorphs` reuses from frame to frame. */
const cullScratch = { grid: new Uint8Array(0) };

/** Draws the top-level morphs that can be seen in `area`, back to front; returns the count. */
function drawMorphs(ctx: BlitContext, world: World, area: Rect, s: number, options: DrawOptions): number {
  const morphs = options.cull === false ? world.morphs() : visibleMorphs(world.morphs(), area, cullScratch);
  let drawn = 0;
  for (const m of morphs) if (overlaps(m, area)) drawn += drawMorph(ctx, m, 0, 0, s, options.sprites);
  return drawn;
}

function paintBackground(ctx: DrawContext, options: DrawOptions, r: Rect): void {
  if (options.background) {
    ctx.fillStyle = options.background;
    ctx.fillRect(r.x, r.y, r.width, r.height);
  } else {
    ctx.clearRect(r.x, r.y, r.width, r.height);
  }
}

/** Whether a morph (with room for its ring) reaches into `r`. */
function overlaps(m: Morph, r: Rect): boolean {
  const ring = 6;
  return (
    m.x - ring < r.x + r.width &&
    r.x < m.x + m.width + ring &&
    m.y - ring < r.y + r.height &&
    r.y < m.y + m.height + ring
  );
}

/** Draws only if the world changed since the last frame; returns whether it drew. */
export function renderIfDirty(ctx: DrawContext, world: World, options: DrawOptions): boolean {
  if (!world.dirty) return false;
  drawWorld(ctx, world, options);
  world.markClean();
  return true;
}
