// Draws a `World` onto a 2D canvas context: each morph back to front as a rounded card
// (colours from its prototype), a ring when hovered or selected, its name and its badges
// as pills. Kept lean for per-frame use: no shadows, no per-morph objects or strings.

import type { Badge, BadgeTone, Morph } from "./morph";
import type { World } from "./scene";

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

export interface DrawOptions {
  /** Canvas size in logical pixels. */
  width: number;
  height: number;
  /** Device pixels per logical pixel (window.devicePixelRatio / Tauri's scale factor). */
  scaleFactor?: number;
  /** Background fill; the canvas is cleared (transparent) when omitted. */
  background?: string;
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

/** Draws one morph whose owner's top-left is at (ox, oy), then its submorphs on top. */
function drawMorph(ctx: DrawContext, m: Morph, ox: number, oy: number): number {
  const x = ox + m.x;
  const y = oy + m.y;
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

  let drawn = 1;
  if (m.children) for (const c of m.children) drawn += drawMorph(ctx, c, x, y);
  return drawn;
}

/** Draws the whole world back to front; returns how many morphs were drawn. */
export function drawWorld(ctx: DrawContext, world: World, options: DrawOptions): number {
  const s = options.scaleFactor && options.scaleFactor > 0 ? options.scaleFactor : 1;
  ctx.setTransform(s, 0, 0, s, 0, 0);
  if (options.background) {
    ctx.fillStyle = options.background;
    ctx.fillRect(0, 0, options.width, options.height);
  } else {
    ctx.clearRect(0, 0, options.width, options.height);
  }
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  let drawn = 0;
  for (const m of world.morphs()) drawn += drawMorph(ctx, m, 0, 0);
  return drawn;
}

/** Draws only if the world changed since the last frame; returns whether it drew. */
export function renderIfDirty(ctx: DrawContext, world: World, options: DrawOptions): boolean {
  if (!world.dirty) return false;
  drawWorld(ctx, world, options);
  world.markClean();
  return true;
}
