// Specification of the world scene graph: z-order, hit-testing, coordinates, versioning, layout.
import { describe, expect, it } from "vitest";
import { cloneMorph, objectMorphPrototype, personaMorphPrototype, type Rect } from "./morph";
import { DEFAULT_VIEWPORT, World, defaultLayout, toLogical } from "./scene";

const persona = (id: string, x: number, y: number) =>
  cloneMorph(personaMorphPrototype, { id, name: id.toUpperCase(), x, y });

const overlaps = (a: Rect, b: Rect) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe("World membership and z-order", () => {
  it("keeps morphs back to front in the order they were added", () => {
    const w = new World();
    w.add(persona("alfred", 0, 0));
    w.add(persona("brick", 300, 0));
    expect(w.morphs().map((m) => m.id)).toEqual(["alfred", "brick"]);
    expect(w.get("brick")?.name).toBe("BRICK");
    expect(w.size).toBe(2);
  });

  it("refuses a second morph with the same id", () => {
    const w = new World();
    w.add(persona("alfred", 0, 0));
    expect(() => w.add(persona("alfred", 10, 10))).toThrow(/already/);
  });

  it("removes top-level morphs and submorphs", () => {
    const w = new World();
    const owner = cloneMorph(objectMorphPrototype, { id: "o" });
    owner.children = [cloneMorph(objectMorphPrototype, { id: "child" })];
    w.add(owner);
    w.add(persona("alfred", 0, 0));
    expect(w.remove("child")).toBe(true);
    expect(owner.children).toHaveLength(0);
    expect(w.remove("alfred")).toBe(true);
    expect(w.remove("nobody")).toBe(false);
    expect(w.morphs().map((m) => m.id)).toEqual(["o"]);
  });

  it("bringToFront raises a morph above the others", () => {
    const w = new World();
    ["a", "b", "c"].forEach((id) => w.add(persona(id, 0, 0)));
    expect(w.bringToFront("a")).toBe(true);
    expect(w.morphs().map((m) => m.id)).toEqual(["b", "c", "a"]);
    expect(w.bringToFront("missing")).toBe(false);
  });
});

describe("World.hitTest", () => {
  const world = () => {
    const w = new World();
    w.add(persona("back", 100, 100)); // 180×110: covers x 100..280, y 100..210
    w.add(persona("front", 200, 150)); // overlaps back on x 200..280, y 150..210
    return w;
  };

  it("picks the topmost of overlapping morphs", () => {
    expect(world().hitTest({ x: 250, y: 180 })?.id).toBe("front");
  });

  it("picks the lower morph where only it is under the point", () => {
    expect(world().hitTest({ x: 120, y: 120 })?.id).toBe("back");
  });

  it("respects bringToFront", () => {
    const w = world();
    w.bringToFront("back");
    expect(w.hitTest({ x: 250, y: 180 })?.id).toBe("back");
  });

  it("misses empty space", () => {
    expect(world().hitTest({ x: 10, y: 10 })).toBeUndefined();
    expect(world().hitTest({ x: 1000, y: 700 })).toBeUndefined();
  });

  it("finds children in their owner's coordinates, before the owner", () => {
    const w = new World();
    const owner = cloneMorph(objectMorphPrototype, { id: "owner", x: 300, y: 200, width: 200, height: 150 });
    owner.children = [cloneMorph(objectMorphPrototype, { id: "child", x: 20, y: 30, width: 50, height: 40 })];
    w.add(owner);
    // The child spans x 320..370, y 230..270 in world coordinates.
    expect(w.hitTest({ x: 330, y: 240 })?.id).toBe("child");
    expect(w.hitTest({ x: 480, y: 330 })?.id).toBe("owner");
    // At the child's *local* coordinates in world space there is nothing.
    expect(w.hitTest({ x: 30, y: 40 })).toBeUndefined();
    expect(w.get("child")?.id).toBe("child");
  });
});

describe("physical to logical pixels", () => {
  it.each([
    [1, { x: 300, y: 150 }, { x: 300, y: 150 }],
    [1.5, { x: 300, y: 150 }, { x: 200, y: 100 }],
    [2, { x: 300, y: 150 }, { x: 150, y: 75 }],
  ])("at scale factor %s converts %o to %o", (scale, physical, logical) => {
    expect(toLogical(physical, scale)).toEqual(logical);
    expect(new World().toLogical(physical, scale)).toEqual(logical);
  });

  it("treats a nonsensical scale factor as 1", () => {
    expect(toLogical({ x: 10, y: 20 }, 0)).toEqual({ x: 10, y: 20 });
    expect(toLogical({ x: 10, y: 20 }, Number.NaN)).toEqual({ x: 10, y: 20 });
  });

  it("a physical drop point at scale 2 hits the morph under it in logical space, not its neighbour", () => {
    const w = new World();
    w.add(persona("left", 100, 50)); // logical x 100..280, y 50..160
    w.add(persona("right", 400, 50)); // logical x 400..580, y 50..160
    const drop = { x: 500, y: 150 }; // physical; logical (250, 75)
    expect(w.hitTest(w.toLogical(drop, 2))?.id).toBe("left");
    // Misreading the physical point as logical would have hit the neighbour.
    expect(w.hitTest(drop)?.id).toBe("right");
  });
});

describe("World versioning", () => {
  it("starts dirty so the first frame is drawn, and markClean clears it", () => {
    const w = new World();
    expect(w.dirty).toBe(true);
    w.markClean();
    expect(w.dirty).toBe(false);
  });

  it("upsert updates in place, keeping identity, and bumps the version", () => {
    const w = new World();
    const m = w.upsert("p:alfred", { kind: "persona", name: "ALFRED", x: 10, y: 20 });
    w.markClean();
    const v = w.version;
    const again = w.upsert("p:alfred", { badges: [{ label: "model offline", tone: "warn" }] });
    expect(again).toBe(m);
    expect(again.name).toBe("ALFRED");
    expect(again.badges).toEqual([{ label: "model offline", tone: "warn" }]);
    expect(w.version).toBe(v + 1);
    expect(w.dirty).toBe(true);
    expect(w.size).toBe(1);
  });

  it("upsert of an unknown id clones from the prototype of its kind", () => {
    const w = new World();
    const p = w.upsert("p:brick", { kind: "persona", name: "BRICK" });
    const o = w.upsert("o:note", { name: "note" });
    expect(Object.getPrototypeOf(p)).toBe(personaMorphPrototype);
    expect(Object.getPrototypeOf(o)).toBe(objectMorphPrototype);
    expect(Object.hasOwn(p, "kind")).toBe(false);
  });

  it("upsert without a position places new morphs by the default layout", () => {
    const w = new World();
    const a = w.upsert("a", { kind: "persona" });
    const b = w.upsert("b", { kind: "persona" });
    expect({ x: a.x, y: a.y }).toEqual(defaultLayout(0));
    expect({ x: b.x, y: b.y }).toEqual(defaultLayout(1));
  });

  it("upsert with a new kind re-parents the same morph onto that kind's prototype", () => {
    const w = new World();
    const m = w.upsert("x", { name: "x" });
    w.upsert("x", { kind: "persona" });
    expect(w.get("x")).toBe(m);
    expect(m.kind).toBe("persona");
    expect(Object.getPrototypeOf(m)).toBe(personaMorphPrototype);
  });

  it("add, remove, move, bringToFront, hover and selection all bump the version", () => {
    const w = new World();
    let v = w.version;
    const step = (f: () => unknown) => {
      f();
      expect(w.version).toBeGreaterThan(v);
      v = w.version;
    };
    step(() => w.add(persona("a", 0, 0)));
    step(() => w.add(persona("b", 0, 0)));
    step(() => w.move("a", 5, 5));
    step(() => w.bringToFront("a"));
    step(() => w.setHover("a"));
    step(() => w.select("b"));
    step(() => w.remove("a"));
  });

  it("does not bump the version when nothing changes", () => {
    const w = new World();
    w.add(persona("a", 0, 0));
    w.setHover("a");
    const v = w.version;
    w.setHover("a");
    w.bringToFront("a");
    w.remove("nobody");
    expect(w.version).toBe(v);
  });

  it("hover and selection are exclusive", () => {
    const w = new World();
    w.add(persona("a", 0, 0));
    w.add(persona("b", 300, 0));
    w.setHover("a");
    w.setHover("b");
    expect([w.get("a")?.hover, w.get("b")?.hover]).toEqual([false, true]);
    w.select("a");
    w.select(null);
    expect([w.get("a")?.selected, w.get("b")?.selected]).toEqual([false, false]);
    w.select("b", "a");
    expect([w.get("a")?.selected, w.get("b")?.selected]).toEqual([true, true]);
    w.select("a");
    expect([w.get("a")?.selected, w.get("b")?.selected]).toEqual([true, false]);
  });
});

describe("defaultLayout", () => {
  const size = { width: personaMorphPrototype.width, height: personaMorphPrototype.height };
  const rects = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ ...defaultLayout(i), ...size }));

  it("places four personas inside an 1100×720 window without overlap", () => {
    const four = rects(4);
    for (const r of four) {
      expect(r.x).toBeGreaterThanOrEqual(0);
      expect(r.y).toBeGreaterThanOrEqual(0);
      expect(r.x + r.width).toBeLessThanOrEqual(DEFAULT_VIEWPORT.width);
      expect(r.y + r.height).toBeLessThanOrEqual(DEFAULT_VIEWPORT.height);
    }
    four.forEach((a, i) => four.slice(i + 1).forEach((b) => expect(overlaps(a, b)).toBe(false)));
  });

  it("spreads them with a comfortable gap", () => {
    const [a, b, c] = rects(3);
    expect(b!.x - (a!.x + a!.width)).toBeGreaterThanOrEqual(100);
    expect(c!.y - (a!.y + a!.height)).toBeGreaterThanOrEqual(100);
  });

  it("keeps inside the part of the canvas it is given", () => {
    // the world window's stage under its toolbar, less the chat bar's room
    const stage = { width: 1100, height: 560 };
    const four = Array.from({ length: 4 }, (_, i) => ({ ...defaultLayout(i, stage), ...size }));
    for (const r of four) {
      expect(r.x + r.width).toBeLessThanOrEqual(stage.width);
      expect(r.y + r.height).toBeLessThanOrEqual(stage.height);
    }
  });

  it("never overlaps in a window smaller than three morphs", () => {
    const tiny = Array.from({ length: 9 }, (_, i) => ({
      ...defaultLayout(i, { width: 300, height: 200 }),
      ...size,
    }));
    tiny.forEach((a, i) => tiny.slice(i + 1).forEach((b) => expect(overlaps(a, b)).toBe(false)));
  });

  it("never overlaps, however many morphs need a default place", () => {
    const many = rects(20);
    many.forEach((a, i) => many.slice(i + 1).forEach((b) => expect(overlaps(a, b)).toBe(false)));
  });
});
