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

/** Room around a morph's card in its sprite, for the hover ring. */
const SPRITE_MARGIN = 5;

/**
 * Morphic's cached forms: a morph's image is drawn once per look (name, size, colours,
 * badges, hover, selection, scale) and copied with one `drawImage` per frame after that,
 * which keeps text and curves off the per-frame path.
 */
export class SpriteCache {
  private sprites = new WeakMap<Morph, { key: string; image: CanvasImageSource }>();

  constructor(private make: CanvasFactory) {}

  /** Copies the morph's image to (x, y); false when it cannot (then draw it directly). */
  blit(ctx: BlitContext, m: Morph, x: number, y: number, scale: number): boolean {
    if (!ctx.drawImage) return false;
    const key = lookKey(m, scale);
    let sprite = this.sprites.get(m);
    if (sprite?.key !== key) {
      const made = this.make(
        Math.ceil((m.width + SPRITE_MARGIN * 2) * scale),
        Math.ceil((m.height + SPRITE_MARGIN * 2) * scale),
      );
      if (!made) return false;
      made.ctx.setTransform(scale, 0, 0, scale, 0, 0);
      made.ctx.textAlign = "left";
      made.ctx.textBaseline = "top";
      drawCard(made.ctx, m, SPRITE_MARGIN, SPRITE_MARGIN);
      sprite = { key, image: made.image };
      this.sprites.set(m, sprite);
    }
    const m2 = SPRITE_MARGIN * 2;
    ctx.drawImage(sprite.image, x - SPRITE_MARGIN, y - SPRITE_MARGIN, m.width + m2, m.height + m2);
    return true;
  }
}

/** Everything that changes how a morph's card looks. */
function lookKey(m: Morph, scale: number): string {
  let key = `${scale}|${m.name}|${m.width}|${m.height}|${m.fill}|${m.stroke}|${m.textColor}|${m.hover}|${m.selected}|${m.pinned}`;
  for (const b of m.badges) key += `|${b.tone}:${b.label}`;
  return key;
}

const RADIUS = 10;
const PAD = 12;
const NAME_FONT = "600 14px system-ui, sans-serif";
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

function drawBadges(ctx: DrawContext, badges: readonly Badge[], x: number, y: number, w: number) {
  ctx.font = BADGE_FONT;
  const maxX = x + w - PAD;
  let px = x + PAD;
  const py = y;
  for (const b of badges) {
    const pw = labelWidth(ctx, b.label) + PILL_PAD * 2;
    if (px + pw > maxX) break; // no room left: the rest would spill out of the card
    const colors = BADGE_COLORS[b.tone] ?? BADGE_COLORS.info;
    ctx.fillStyle = colors[0];
    roundRect(ctx, px, py, pw, PILL_H, PILL_H / 2);
    ctx.fill();
    ctx.fillStyle = colors[1];
    ctx.fillText(b.label, px + PILL_PAD, py + 4);
    px += pw + PILL_GAP;
  }
}

/** Draws one morph's card (ring, body, name, badges) with its top-left at (x, y). */
function drawCard(ctx: DrawContext, m: Morph, x: number, y: number): void {
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

  ctx.font = NAME_FONT;
  ctx.fillStyle = m.textColor;
  ctx.fillText(m.name, x + PAD, y + PAD, w - PAD * 2);

  if (m.badges.length > 0) drawBadges(ctx, m.badges, x, y + h - PAD / 2 - PILL_H, w);
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
