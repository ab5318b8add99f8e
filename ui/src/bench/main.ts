// The world benchmark page (built into dist/ beside the app's pages; nothing links to it):
// 1,000 morphs drawn by the world's renderer vs a raw fillRect loop of the same rectangles on
// the same canvas, frame after frame, alternating blocks so drift hits both alike. Each
// frame's cost includes a pixel read-back, which makes the software rasteriser finish the
// frame. Full frames are also drawn once with occlusion culling off, to check it changes no
// pixel. The result lands in #result (and window.__telosBench) as JSON.

import { World, cloneMorph, drawWorld, personaMorphPrototype, type Morph } from "../morphic";
import { domSpriteCache } from "../morphic/dom";
import { compare } from "./frames";

const COUNT = Number(new URLSearchParams(location.search).get("count") ?? 1000);
const FRAMES = Number(new URLSearchParams(location.search).get("frames") ?? 240);
const canvas = document.getElementById("bench") as HTMLCanvasElement;
const out = document.getElementById("result") as HTMLPreElement;
const ctx = canvas.getContext("2d");
if (!ctx) throw new Error("no 2D canvas");
const c = ctx;

const dpr = window.devicePixelRatio || 1;
const width = canvas.clientWidth;
const height = canvas.clientHeight;
canvas.width = Math.round(width * dpr);
canvas.height = Math.round(height * dpr);

// Deterministic placement: the same rectangles for both renderers.
let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const world = new World();
const sprites = domSpriteCache();
const rects: { x: number; y: number; w: number; h: number }[] = [];
for (let i = 0; i < COUNT; i++) {
  const m: Morph = cloneMorph(personaMorphPrototype, {
    id: `m${i}`,
    name: `morph ${i}`,
    x: Math.round(random() * (width - 180)),
    y: Math.round(random() * (height - 110)),
    badges: [{ label: "model offline", tone: "warn" }],
  });
  world.add(m);
  rects.push({ x: m.x, y: m.y, w: m.width, h: m.height });
}

/** A drag frame: one morph moves, and the world repaints what that damaged. */
function frameWorld(n: number): void {
  const m = world.morphs()[n % COUNT];
  if (m) world.move(m.id, m.x + (n % 2 ? 1 : -1), m.y);
  drawWorld(c, world, { width, height, scaleFactor: dpr, background: "#14161f", sprites, partial: true });
  world.markClean();
}

/** A full frame: the whole world repainted (from cached images), as after a resize. */
function frameWorldFull(cull = true): number {
  world.touch();
  const drawn = drawWorld(c, world, { width, height, scaleFactor: dpr, background: "#14161f", sprites, partial: true, cull });
  world.markClean();
  return drawn;
}

/**
 * Occlusion culling must not change a pixel: the full frame drawn with and without it,
 * read back whole and compared. Also reports how many morphs each draws.
 */
function checkCulling(): { identical: boolean; differingBytes: number; drawnWith: number; drawnWithout: number } {
  const drawnWithout = frameWorldFull(false);
  const without = c.getImageData(0, 0, canvas.width, canvas.height).data;
  const drawnWith = frameWorldFull(true);
  const withCull = c.getImageData(0, 0, canvas.width, canvas.height).data;
  let differingBytes = 0;
  for (let i = 0; i < without.length; i++) if (without[i] !== withCull[i]) differingBytes++;
  return { identical: differingBytes === 0, differingBytes, drawnWith, drawnWithout };
}

function frameBaseline(): void {
  c.setTransform(dpr, 0, 0, dpr, 0, 0);
  c.fillStyle = "#14161f";
  c.fillRect(0, 0, width, height);
  c.fillStyle = "#fff4dc";
  for (const r of rects) c.fillRect(r.x, r.y, r.w, r.h);
}

function timed(draw: () => void): number {
  const t = performance.now();
  draw();
  c.getImageData(0, 0, 1, 1); // the frame is rasterised before the clock stops
  return performance.now() - t;
}

const nextFrame = () => new Promise<void>((r) => requestAnimationFrame(() => r()));

async function run(): Promise<void> {
  const dragTimes: number[] = [];
  const fullTimes: number[] = [];
  const baseTimes: number[] = [];
  // Each kind gets at least two alternating blocks, whatever FRAMES is.
  const block = Math.max(5, Math.floor(FRAMES / 6));
  for (let n = 0; n < 20; n++) timed(() => frameWorld(n)); // warm up (and fill the cache)
  for (let n = 0; n < FRAMES; n++) {
    const which = Math.floor(n / block) % 3;
    await nextFrame();
    if (which === 0) dragTimes.push(timed(() => frameWorld(n)));
    else if (which === 1) fullTimes.push(timed(() => frameWorldFull()));
    else baseTimes.push(timed(frameBaseline));
  }
  const result = {
    drag: compare(COUNT, dragTimes, baseTimes),
    full: compare(COUNT, fullTimes, baseTimes),
    culling: checkCulling(),
  };
  out.textContent = JSON.stringify(result);
  (window as unknown as { __telosBench: unknown }).__telosBench = result;
}

void run();
