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
    expect(made).toBe(1);
    expect(target.calls.filter((c) => c.startsWith("drawImage"))).toEqual([
      "drawImage(5,15,190,120)",
      "drawImage(5,15,190,120)",
    ]);
    expect(target.calls.some((c) => c.startsWith("fillText")), "no text per frame").toBe(false);

    world.upsert("a", { name: "ALFRED II" });
    drawWorld(target.ctx, world, options);
    expect(made).toBe(2);
    world.move("a", 40, 20);
    drawWorld(target.ctx, world, options);
    expect(made, "moving does not redraw the card").toBe(2);
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
