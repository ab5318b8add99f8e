// Specification of morphs as prototype clones (Self-style delegation).
import { describe, expect, it } from "vitest";
import {
  type Badge,
  cloneMorph,
  morphPrototype,
  objectMorphPrototype,
  personaMorphPrototype,
  prototypeFor,
} from "./morph";

describe("morph prototypes", () => {
  it("persona and object prototypes are clones of morphPrototype with their own look", () => {
    expect(Object.getPrototypeOf(personaMorphPrototype)).toBe(morphPrototype);
    expect(Object.getPrototypeOf(objectMorphPrototype)).toBe(morphPrototype);
    expect(personaMorphPrototype.kind).toBe("persona");
    expect(objectMorphPrototype.kind).toBe("object");
    expect(personaMorphPrototype.width).not.toBe(objectMorphPrototype.width);
    expect(personaMorphPrototype.fill).not.toBe(objectMorphPrototype.fill);
    expect(prototypeFor("persona")).toBe(personaMorphPrototype);
    expect(prototypeFor("object")).toBe(objectMorphPrototype);
  });

  it("prototypes are sealed and their badge lists frozen", () => {
    expect(Object.isSealed(morphPrototype)).toBe(true);
    expect(Object.isSealed(personaMorphPrototype)).toBe(true);
    expect(() => personaMorphPrototype.badges.push({ label: "x", tone: "info" })).toThrow();
  });
});

describe("cloneMorph", () => {
  it("makes a clone that delegates every slot it does not override", () => {
    const alfred = cloneMorph(personaMorphPrototype, { id: "p:alfred", name: "ALFRED" });
    expect(Object.getPrototypeOf(alfred)).toBe(personaMorphPrototype);
    expect(Object.hasOwn(alfred, "name")).toBe(true);
    expect(Object.hasOwn(alfred, "width")).toBe(false);
    expect(alfred.width).toBe(personaMorphPrototype.width);
    expect(alfred.kind).toBe("persona");
    expect(alfred.moveTo).toBe(morphPrototype.moveTo);
  });

  it("sees later changes to prototype slots it does not override", () => {
    const cardProto = cloneMorph(morphPrototype, { width: 100 });
    const card = cloneMorph(cardProto, { id: "c" });
    cardProto.width = 150;
    expect(card.width).toBe(150);
  });

  it("changing a clone never changes its prototype or a sibling", () => {
    const a = cloneMorph(personaMorphPrototype, { id: "a" });
    const b = cloneMorph(personaMorphPrototype, { id: "b" });
    a.width = 999;
    a.moveTo(40, 50);
    a.hover = true;
    a.selected = true;
    a.badges.push({ label: "model offline", tone: "warn" });

    expect(personaMorphPrototype.width).toBe(180);
    expect(personaMorphPrototype.x).toBe(0);
    expect(personaMorphPrototype.hover).toBe(false);
    expect(personaMorphPrototype.badges).toHaveLength(0);
    expect(b.width).toBe(180);
    expect([b.x, b.y]).toEqual([0, 0]);
    expect(b.hover || b.selected).toBe(false);
    expect(b.badges).toHaveLength(0);
  });

  it("copies the badge list it is given", () => {
    const badges: Badge[] = [{ label: "model offline", tone: "warn" }];
    const m = cloneMorph(objectMorphPrototype, { id: "o", badges });
    badges.push({ label: "later", tone: "info" });
    expect(m.badges).toEqual([{ label: "model offline", tone: "warn" }]);
  });
});

describe("morph behaviour", () => {
  const m = cloneMorph(objectMorphPrototype, { id: "o", x: 10, y: 20, width: 100, height: 50 });

  it("reports its bounds, optionally offset by its owner's origin", () => {
    expect(m.bounds()).toEqual({ x: 10, y: 20, width: 100, height: 50 });
    expect(m.bounds({ x: 5, y: 5 })).toEqual({ x: 15, y: 25, width: 100, height: 50 });
    expect(m.center()).toEqual({ x: 60, y: 45 });
  });

  it("contains points inside its half-open rectangle only", () => {
    expect(m.contains({ x: 10, y: 20 })).toBe(true);
    expect(m.contains({ x: 109.9, y: 69.9 })).toBe(true);
    expect(m.contains({ x: 110, y: 30 })).toBe(false);
    expect(m.contains({ x: 50, y: 70 })).toBe(false);
    expect(m.contains({ x: 9, y: 30 })).toBe(false);
  });

  it("moves to and by", () => {
    const n = cloneMorph(objectMorphPrototype, { id: "n" });
    n.moveTo(3, 4);
    n.moveBy(10, -1);
    expect([n.x, n.y]).toEqual([13, 3]);
  });
});
