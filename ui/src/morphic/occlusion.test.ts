import { describe, expect, it } from "vitest";
import { cloneMorph, objectMorphPrototype, personaMorphPrototype, type Morph } from "./morph";
import { CELL, PAINT_MARGIN, isOpaqueColor, visibleMorphs } from "./occlusion";

const area = { x: 0, y: 0, width: 1100, height: 680 };

function persona(id: string, x: number, y: number, own: Partial<Morph> = {}): Morph {
  return cloneMorph(personaMorphPrototype, { id, name: id, x, y, ...own });
}

/** Whether the point lies in the opaque body of `m` (its card without the rounded corners). */
function inBody(m: Morph, px: number, py: number): boolean {
  const r = 10;
  const inX = px >= m.x + r && px < m.x + m.width - r && py >= m.y + 1 && py < m.y + m.height - 1;
  const inY = px >= m.x + 1 && px < m.x + m.width - 1 && py >= m.y + r && py < m.y + m.height - r;
  return isOpaqueColor(m.fill) && (inX || inY);
}

describe("occlusion culling", () => {
  it("skips a card wholly behind another opaque card", () => {
    const back = persona("back", 100, 100, { width: 100, height: 60 });
    const front = persona("front", 60, 60, { width: 200, height: 150 });
    expect(visibleMorphs([back, front], area).map((m) => m.id)).toEqual(["front"]);
  });

  it("keeps a card that shows past the front card's rounded corner or edge", () => {
    const back = persona("back", 100, 100);
    const front = persona("front", 100, 100); // same rectangle: the back card's corners show
    expect(visibleMorphs([back, front], area).map((m) => m.id)).toEqual(["back", "front"]);
    const peeking = persona("peeking", 100 + CELL, 100);
    expect(visibleMorphs([peeking, front], area).map((m) => m.id)).toEqual(["peeking", "front"]);
  });

  it("trusts only opaque fills to hide what lies behind", () => {
    expect(isOpaqueColor("#fff4de")).toBe(true);
    expect(isOpaqueColor("#abc")).toBe(true);
    expect(isOpaqueColor("#fff4de80")).toBe(false);
    expect(isOpaqueColor("rgba(0,0,0,0.5)")).toBe(false);
    const back = persona("back", 100, 100, { width: 60, height: 40 });
    const glass = persona("glass", 50, 50, { width: 300, height: 300, fill: "rgba(255,255,255,0.5)" });
    expect(visibleMorphs([back, glass], area).map((m) => m.id)).toEqual(["back", "glass"]);
  });

  it("always draws a morph with submorphs, which may reach outside it", () => {
    const child = cloneMorph(objectMorphPrototype, { id: "child", x: 400, y: 0 });
    const parent = persona("parent", 100, 100, { width: 60, height: 40, children: [child] });
    const front = persona("front", 50, 50, { width: 300, height: 300 });
    expect(visibleMorphs([parent, front], area).map((m) => m.id)).toEqual(["parent", "front"]);
  });

  it("skips morphs outside the painted area and keeps back-to-front order", () => {
    const inside = persona("inside", 10, 10);
    const outside = persona("outside", 600, 600);
    const damage = { x: 0, y: 0, width: 300, height: 200 };
    expect(visibleMorphs([inside, outside], damage).map((m) => m.id)).toEqual(["inside"]);
  });

  it("never skips a morph with a visible pixel, on a dense random world", () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const morphs: Morph[] = [];
    for (let i = 0; i < 400; i++) {
      morphs.push(persona(`m${i}`, Math.round(random() * 500), Math.round(random() * 300)));
    }
    const small = { x: 0, y: 0, width: 700, height: 420 };
    const visible = new Set(visibleMorphs(morphs, small));
    // Brute force at pixel resolution, front to back: a skipped morph must be covered at every
    // pixel of its paint extent (inside the area) by the opaque body of a morph in front of it.
    const covered = new Uint8Array(small.width * small.height);
    for (let i = morphs.length - 1; i >= 0; i--) {
      const m = morphs[i] as Morph;
      const ys = Math.max(0, m.y - PAINT_MARGIN);
      const ye = Math.min(small.height, m.y + m.height + PAINT_MARGIN);
      const xs = Math.max(0, m.x - PAINT_MARGIN);
      const xe = Math.min(small.width, m.x + m.width + PAINT_MARGIN);
      if (!visible.has(m)) {
        for (let py = ys; py < ye; py++) {
          for (let px = xs; px < xe; px++) {
            if (!covered[py * small.width + px]) throw new Error(`${m.id} was skipped but shows at (${px}, ${py})`);
          }
        }
      }
      for (let py = ys; py < ye; py++) {
        for (let px = xs; px < xe; px++) if (inBody(m, px, py)) covered[py * small.width + px] = 1;
      }
    }
    // And it earns its keep: most of a world this crowded is hidden.
    expect(visible.size).toBeLessThan(morphs.length / 2);
  });
});
