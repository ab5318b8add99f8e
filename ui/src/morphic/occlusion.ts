// Occlusion culling for the renderer: which top-level morphs can be seen at all in the area
// being painted. A morph whose whole painted extent (card plus hover ring) lies under the
// opaque bodies of morphs in front of it is skipped: drawing it would be overdrawn pixel for
// pixel. Coverage is kept on a coarse grid and is conservative both ways: a cell counts as
// covered only when it lies wholly inside some front card's opaque body, and a morph is
// skipped only when every cell its extent touches is covered. So culling never changes a
// pixel; it only saves the draws nobody would see.

import type { Morph, Rect } from "./morph";

/** Grid cell edge in logical pixels. */
export const CELL = 8;
/** How far a morph's paint reaches outside its card (the hover ring; matches the renderer). */
export const PAINT_MARGIN = 6;
/** Corner radius of a card: the corners are not opaque. */
const CORNER = 10;
/** Antialiased card edges are not fully opaque either. */
const EDGE = 1;

/** Whether a CSS colour is certainly opaque (`#rgb` / `#rrggbb`); anything else is not trusted. */
export function isOpaqueColor(color: string): boolean {
  return /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i.test(color);
}

/**
 * The morphs of `backToFront` that can be seen inside `area`, back to front. Reuses `grid`
 * when it is large enough (the renderer keeps one between frames).
 */
export function visibleMorphs(
  backToFront: readonly Morph[],
  area: Rect,
  scratch?: { grid: Uint8Array },
): Morph[] {
  const cols = Math.max(1, Math.ceil(area.width / CELL));
  const rows = Math.max(1, Math.ceil(area.height / CELL));
  let grid = scratch?.grid;
  if (!grid || grid.length < cols * rows) {
    grid = new Uint8Array(cols * rows);
    if (scratch) scratch.grid = grid;
  } else {
    grid.fill(0, 0, cols * rows);
  }
  const visible: Morph[] = [];
  for (let i = backToFront.length - 1; i >= 0; i--) {
    const m = backToFront[i] as Morph;
    // The cells the morph's paint touches, clipped to the area.
    const x0 = Math.max(0, Math.floor((m.x - PAINT_MARGIN - area.x) / CELL));
    const y0 = Math.max(0, Math.floor((m.y - PAINT_MARGIN - area.y) / CELL));
    const x1 = Math.min(cols - 1, Math.ceil((m.x + m.width + PAINT_MARGIN - area.x) / CELL) - 1);
    const y1 = Math.min(rows - 1, Math.ceil((m.y + m.height + PAINT_MARGIN - area.y) / CELL) - 1);
    if (x0 > x1 || y0 > y1) continue; // wholly outside the area
    // Submorphs may reach outside their owner: a morph with any is always drawn.
    const hasChildren = m.children !== undefined && m.children.length > 0;
    if (!hasChildren && !anyUncovered(grid, cols, x0, y0, x1, y1)) continue;
    visible.push(m);
    if (isOpaqueColor(m.fill)) {
      // The card body without its rounded corners: two overlapping opaque rectangles.
      const e = EDGE;
      cover(grid, cols, rows, area, m.x + CORNER, m.y + e, m.width - 2 * CORNER, m.height - 2 * e);
      cover(grid, cols, rows, area, m.x + e, m.y + CORNER, m.width - 2 * e, m.height - 2 * CORNER);
    }
  }
  return visible.reverse();
}

function anyUncovered(grid: Uint8Array, cols: number, x0: number, y0: number, x1: number, y1: number): boolean {
  for (let y = y0; y <= y1; y++) {
    const row = y * cols;
    for (let x = x0; x <= x1; x++) if (grid[row + x] === 0) return true;
  }
  return false;
}

/** Marks the cells lying wholly inside the rectangle (logical pixels) as covered. */
function cover(grid: Uint8Array, cols: number, rows: number, area: Rect, x: number, y: number, w: number, h: number) {
  if (w <= 0 || h <= 0) return;
  const x0 = Math.max(0, Math.ceil((x - area.x) / CELL));
  const y0 = Math.max(0, Math.ceil((y - area.y) / CELL));
  const x1 = Math.min(cols, Math.floor((x + w - area.x) / CELL)) - 1;
  const y1 = Math.min(rows, Math.floor((y + h - area.y) / CELL)) - 1;
  for (let cy = y0; cy <= y1; cy++) grid.fill(1, cy * cols + x0, cy * cols + x1 + 1);
}
