// Specification of program editing (→ one JSON array text) and the step cursor.
import { describe, expect, it } from "vitest";
import { cursorLabel, describeOp, isEdited, noEdits, programText, stepTargets } from "./program";

const ops = ['{"op":"new","name":"A"}', '{"op":"set","object":"A","slot":"n","value":12345678901234567890}', '{"op":"delete","object":"B"}'];

describe("programText", () => {
  it("is null when nothing was edited (resume as recorded)", () => {
    expect(programText(ops, noEdits())).toEqual({ ok: true, text: null });
  });

  it("is null when an edit was typed back to the original", () => {
    expect(programText(ops, { texts: new Map([[0, ops[0] ?? ""]]), removed: new Set() })).toEqual({ ok: true, text: null });
  });

  it("joins the operations, edited ones in place, keeping each text exactly", () => {
    const r = programText(ops, { texts: new Map([[2, ' {"op":"delete","object":"C"}\n']]), removed: new Set() });
    expect(r).toEqual({ ok: true, text: `[${ops[0]},${ops[1]},{"op":"delete","object":"C"}]` });
    if (r.ok && r.text) expect(JSON.parse(r.text)).toHaveLength(3);
  });

  it("leaves removed operations out", () => {
    expect(programText(ops, { texts: new Map(), removed: new Set([1]) })).toEqual({ ok: true, text: `[${ops[0]},${ops[2]}]` });
    expect(programText(ops, { texts: new Map(), removed: new Set([0, 1, 2]) })).toEqual({ ok: true, text: "[]" });
  });

  it("refuses invalid JSON, naming the operation", () => {
    const r = programText(ops, { texts: new Map([[1, '{"op":"set",}']]), removed: new Set() });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.index).toBe(1);
      expect(r.message).toMatch(/^Operation 2: Trailing comma/);
    }
  });

  it("ignores invalid JSON in a removed operation", () => {
    const r = programText(ops, { texts: new Map([[1, "oops"]]), removed: new Set([1]) });
    expect(r).toEqual({ ok: true, text: `[${ops[0]},${ops[2]}]` });
  });
});

describe("isEdited", () => {
  it("sees changed and removed operations", () => {
    const edits = { texts: new Map([[0, "{}"]]), removed: new Set([2]) };
    expect([0, 1, 2].map((i) => isEdited(ops, edits, i))).toEqual([true, false, true]);
  });
});

describe("stepTargets", () => {
  it("moves within the program", () => {
    expect(stepTargets(0, 3, 1)).toEqual({ start: 0, back: 0, forward: 1, toFailure: 2 });
    expect(stepTargets(3, 3, null)).toEqual({ start: 0, back: 2, forward: 3, toFailure: 3 });
  });
  it("runs to the end when the commit itself failed", () => {
    expect(stepTargets(0, 3, 3).toFailure).toBe(3);
  });
  it("clamps a cursor out of range", () => {
    expect(stepTargets(9, 3, null).back).toBe(2);
    expect(stepTargets(-2, 3, null).forward).toBe(1);
  });
});

describe("cursorLabel", () => {
  it("says where the cursor is", () => {
    expect(cursorLabel(0, 4)).toBe("Before operation 1 of 4");
    expect(cursorLabel(2, 4)).toBe("After operation 2 of 4");
    expect(cursorLabel(0, 0)).toBe("The program is empty");
  });
});

describe("describeOp", () => {
  it("reads each operation kind", () => {
    expect(describeOp('{"op":"new","name":"A","parents":["P","Q"]}')).toBe("new A (parents: P, Q)");
    expect(describeOp('{"op":"new","name":"A"}')).toBe("new A");
    expect(describeOp('{"op":"set","object":"A","slot":"n","value":5}')).toBe("set A.n = 5");
    expect(describeOp('{"op":"set","object":"A","slot":"n","value":12345678901234567890}')).toBe("set A.n = 12345678901234567890");
    expect(describeOp('{"op":"clone","object":"A","name":"B"}')).toBe("clone A as B");
    expect(describeOp('{"op":"delete","object":"A"}')).toBe("delete A");
    expect(describeOp('{"op":"add-parent","object":"A","parent":"P"}')).toBe("add-parent A ← P");
  });
  it("falls back to an excerpt of the text", () => {
    expect(describeOp("not json")).toBe("not json");
    expect(describeOp("[1]")).toBe("[1]");
    expect(describeOp('{"op":"frob"}')).toBe('frob {"op":"frob"}');
  });
});
