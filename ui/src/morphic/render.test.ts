// Specification of the canvas renderer, checked against a recording fake 2D context.
import { describe, expect, it } from "vitest";
import { cloneMorph, objectMorphPrototype, personaMorphPrototype } from "./morph";
import { type DrawContext, drawWorld, renderIfDirty } from "./render";
import { World } from "./scene";

type Call = { op: string; args: unknown[]; fillStyle: unknown; strokeStyle: unknown };

/** A fake context that records every method call with the styles in force at the time. */
function recordingContext() {
  const calls: Call[] = [];
  const state = {
    fillStyle: "" as DrawContext["fillStyle"],
    strokeStyle: "" as DrawContext["strokeStyle"],
    lineWidth: 1,
    font: "",
    textAlign: "start" as CanvasTextAlign,
    textBaseline: "alphabetic" as CanvasTextBaseline,
  };
  const record =
    (op: string) =>
    (...args: unknown[]) => {
      calls.push({ op, args, fillStyle: state.fillStyle, strokeStyle: state.strokeStyle });
    };
  const ctx = Object.assign(state, {
    setTransform: record("setTransform"),
    clearRect: record("clearRect"),
    fillRect: record("fillRect"),
    beginPath: record("beginPath"),
    moveTo: record("moveTo"),
    arcTo: record("arcTo"),
    closePath: record("closePath"),
    fill: record("fill"),
    stroke: record("stroke"),
    fillText: record("fillText"),
    measureText: (text: string) => {
      record("measureText")(text);
      return { width: text.length * 6 } as TextMetrics;
    },
  }) as DrawContext;
  const texts = () => calls.filter((c) => c.op === "fillText").map((c) => c.args[0] as string);
  return { ctx, calls, texts };
}

const persona = (id: string, name: string, x: number, y: number) =>
  cloneMorph(personaMorphPrototype, { id, name, x, y });

const size = { width: 1100, height: 720 };

describe("drawWorld", () => {
  it("draws every morph's name back to front, following bringToFront", () => {
    const w = new World();
    w.add(persona("a", "ALFRED", 0, 0));
    w.add(persona("b", "BRICK", 50, 50));
    w.add(persona("r", "ROBIN", 100, 100));
    const first = recordingContext();
    expect(drawWorld(first.ctx, w, size)).toBe(3);
    expect(first.texts()).toEqual(["ALFRED", "BRICK", "ROBIN"]);

    w.bringToFront("a");
    const second = recordingContext();
    drawWorld(second.ctx, w, size);
    expect(second.texts()).toEqual(["BRICK", "ROBIN", "ALFRED"]);
  });

  it("draws submorphs after their owner, offset by the owner's position", () => {
    const w = new World();
    const owner = cloneMorph(objectMorphPrototype, { id: "o", name: "owner", x: 200, y: 100 });
    owner.children = [cloneMorph(objectMorphPrototype, { id: "c", name: "child", x: 10, y: 20 })];
    w.add(owner);
    const { ctx, calls, texts } = recordingContext();
    expect(drawWorld(ctx, w, size)).toBe(2);
    expect(texts()).toEqual(["owner", "child"]);
    const childText = calls.find((c) => c.op === "fillText" && c.args[0] === "child");
    expect(childText?.args.slice(1, 3)).toEqual([200 + 10 + 12, 100 + 20 + 12]);
  });

  it("fills each card with its prototype's colour", () => {
    const w = new World();
    w.add(persona("a", "ALFRED", 0, 0));
    w.add(cloneMorph(objectMorphPrototype, { id: "o", name: "note", x: 400, y: 0 }));
    const { ctx, calls } = recordingContext();
    drawWorld(ctx, w, size);
    const fills = calls.filter((c) => c.op === "fill").map((c) => c.fillStyle);
    expect(fills).toEqual([personaMorphPrototype.fill, objectMorphPrototype.fill]);
  });

  it("draws badges as pills with their labels after the name", () => {
    const w = new World();
    const m = persona("a", "ALFRED", 0, 0);
    m.badges.push({ label: "model offline", tone: "warn" }, { label: "busy", tone: "info" });
    w.add(m);
    const { ctx, calls, texts } = recordingContext();
    drawWorld(ctx, w, size);
    expect(texts()).toEqual(["ALFRED", "model offline", "busy"]);
    expect(calls.filter((c) => c.op === "fill")).toHaveLength(3); // card + two pills
  });

  it("wraps badges that do not fit onto a second row above, and cuts one wider than the card", () => {
    const w = new World();
    const m = persona("a", "BRICK", 0, 0);
    m.badges.push(
      { label: "embedded · SmolLM2-135M-Instruct.Q4_1", tone: "warn" },
      { label: "model loaded", tone: "ok" },
      { label: "3 docs", tone: "info" },
    );
    w.add(m);
    const { ctx, calls, texts } = recordingContext();
    drawWorld(ctx, w, size);
    const [name, runtime, ...rest] = texts();
    expect(name).toBe("BRICK");
    // 6 px a character in the fake: the card's 156 px of room minus the pill's padding.
    expect(runtime?.endsWith("…")).toBe(true);
    expect((runtime?.length ?? 0) * 6).toBeLessThanOrEqual(m.width - 24 - 14);
    expect(rest).toEqual(["model loaded", "3 docs"]);
    const rows = new Set(calls.filter((c) => c.op === "fillText").slice(1).map((c) => c.args[2]));
    expect(rows.size).toBe(2); // two rows of pills
  });

  it("strokes an extra highlight ring for hover and a different outline for selection", () => {
    const strokes = (hover: boolean, selected: boolean) => {
      const w = new World();
      w.add(cloneMorph(personaMorphPrototype, { id: "a", name: "A", hover, selected }));
      const { ctx, calls } = recordingContext();
      drawWorld(ctx, w, size);
      return calls.filter((c) => c.op === "stroke").map((c) => c.strokeStyle);
    };
    const plain = strokes(false, false);
    expect(plain).toEqual([personaMorphPrototype.stroke]);
    expect(strokes(true, false)).toHaveLength(2);
    expect(strokes(false, true)).toHaveLength(1);
    expect(strokes(false, true)[0]).not.toBe(personaMorphPrototype.stroke);
  });

  it("scales to device pixels and clears or paints the background", () => {
    const w = new World();
    const cleared = recordingContext();
    drawWorld(cleared.ctx, w, { ...size, scaleFactor: 2 });
    expect(cleared.calls[0]).toMatchObject({ op: "setTransform", args: [2, 0, 0, 2, 0, 0] });
    expect(cleared.calls[1]).toMatchObject({ op: "clearRect", args: [0, 0, 1100, 720] });

    const painted = recordingContext();
    drawWorld(painted.ctx, w, { ...size, background: "#fafafa" });
    expect(painted.calls[1]).toMatchObject({ op: "fillRect", fillStyle: "#fafafa" });
  });
});

describe("renderIfDirty", () => {
  it("skips frames in which nothing changed", () => {
    const w = new World();
    w.add(persona("a", "ALFRED", 0, 0));
    const { ctx, texts } = recordingContext();
    expect(renderIfDirty(ctx, w, size)).toBe(true);
    expect(renderIfDirty(ctx, w, size)).toBe(false);
    w.move("a", 10, 10);
    expect(renderIfDirty(ctx, w, size)).toBe(true);
    expect(texts()).toEqual(["ALFRED", "ALFRED"]);
  });
});
