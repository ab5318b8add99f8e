import { describe, expect, it } from "vitest";
import { cloneMorph, personaMorphPrototype } from "./morph";
import { SpriteCache, drawWorld, type DrawContext } from "./render";
import { World } from "./scene";

/** A context that records what it is asked to do (enough of one for the renderer). */
function recorder() {
  const calls: string[] = [];
  const ctx = new Proxy({} as Record<string, unknown>, {
    get(target, prop: string) {
      if (prop in target) return target[prop];
      if (prop === "measureText") return (t: string) => ({ width: t.length * 6 });
      return (...args: unknown[]) => calls.push(`${prop}(${args.filter((a) => typeof a !== "object").join(",")})`);
    },
    set(target, prop: string, value) {
      target[prop] = value;
      return true;
    },
  });
  return { calls, ctx: ctx as unknown as DrawContext & { drawImage: CanvasRenderingContext2D["drawImage"] } };
}

describe("the sprite cache", () => {
  it("draws a morph once per look and copies it every frame after", () => {
    let made = 0;
    const sprites = new SpriteCache(() => {
      made += 1;
      return { image: {} as CanvasImageSource, ctx: recorder().ctx };
    });
    const world = new World();
    world.add(cloneMorph(personaMorphPrototype, { id: "a", name: "ALFRED", x: 10, y: 20 }));
    const target = recorder();
    const options = { width: 800, height: 600, sprites };
    drawWorld(target.ctx, world, options);
    drawWorld(target.ctx, world, options);
    expect(made, "a frame and a name").toBe(2);
    // The name's layer is as wide as its text (the fake measures 6 px a letter), with 2 px each side.
    const frameAndName = ["drawImage(9,19,182,112)", "drawImage(20,28,40,24)"];
    expect(target.calls.filter((c) => c.startsWith("drawImage"))).toEqual([...frameAndName, ...frameAndName]);
    expect(target.calls.some((c) => c.startsWith("fillText")), "no text per frame").toBe(false);

    world.upsert("a", { name: "ALFRED II" });
    drawWorld(target.ctx, world, options);
    expect(made, "a new name, the same frame").toBe(3);
    world.move("a", 40, 20);
    drawWorld(target.ctx, world, options);
    expect(made, "moving does not redraw the card").toBe(3);
    world.setHover("a");
    drawWorld(target.ctx, world, options);
    expect(made, "hovering redraws the frame (with its ring), not the name").toBe(4);
    world.setHover(null);
    drawWorld(target.ctx, world, options);
    expect(made, "the plain frame is still cached").toBe(4);
  });

  it("shares a frame and a badge row between morphs that look the same", () => {
    const drawnInto: string[][] = [];
    const sprites = new SpriteCache(() => {
      const r = recorder();
      drawnInto.push(r.calls);
      return { image: {} as CanvasImageSource, ctx: r.ctx };
    });
    const world = new World();
    const badges = [{ label: "model offline", tone: "warn" as const }];
    for (const [id, x] of [["a", 0], ["b", 300], ["c", 600]] as const) {
      world.add(cloneMorph(personaMorphPrototype, { id, name: id.toUpperCase(), x, y: 0, badges }));
    }
    world.add(cloneMorph(personaMorphPrototype, { id: "d", name: "D", x: 0, y: 300, badges: [] }));
    const target = recorder();
    drawWorld(target.ctx, world, { width: 1000, height: 600, sprites });
    // One frame, one badge row, four names.
    expect(drawnInto.length).toBe(6);
    const texts = drawnInto.flat().filter((c) => c.startsWith("fillText")).map((c) => c.split(",")[0]);
    expect(texts.sort()).toEqual(["fillText(A", "fillText(B", "fillText(C", "fillText(D", "fillText(model offline"]);
    // Each morph copies its frame, its name and (when it has badges) its badge row.
    expect(target.calls.filter((c) => c.startsWith("drawImage")).length).toBe(3 + 3 + 3 + 2);

    world.upsert("b", { badges: [{ label: "busy", tone: "info" }] });
    drawWorld(target.ctx, world, { width: 1000, height: 600, sprites });
    expect(drawnInto.length, "only B's new badge row is drawn").toBe(7);
  });

  it("falls back to drawing directly when no offscreen canvas can be made", () => {
    const world = new World();
    world.add(cloneMorph(personaMorphPrototype, { id: "a", name: "BRICK", x: 0, y: 0 }));
    const target = recorder();
    drawWorld(target.ctx, world, { width: 800, height: 600, sprites: new SpriteCache(() => null) });
    expect(target.calls.some((c) => c.startsWith("fillText(BRICK"))).toBe(true);
  });
});

describe("damage", () => {
  it("after a move, only morphs in the damaged area are redrawn, clipped to it", () => {
    const world = new World();
    world.add(cloneMorph(personaMorphPrototype, { id: "a", name: "NEAR", x: 0, y: 0 }));
    world.add(cloneMorph(personaMorphPrototype, { id: "b", name: "FAR", x: 600, y: 400 }));
    const target = recorder();
    const options = { width: 1100, height: 720, partial: true };
    drawWorld(target.ctx, world, options);
    world.markClean();
    expect(world.damage()).toBeNull();
    target.calls.length = 0;

    world.move("a", 20, 10);
    expect(world.damage()).toEqual({ x: -6, y: -6, width: 212, height: 132 });
    drawWorld(target.ctx, world, options);
    expect(target.calls).toContain("clip()");
    expect(target.calls.some((c) => c.startsWith("fillText(NEAR"))).toBe(true);
    expect(target.calls.some((c) => c.startsWith("fillText(FAR")), "FAR is outside the damage").toBe(false);

    world.touch();
    expect(world.damage()).toBe("all");
  });
});
