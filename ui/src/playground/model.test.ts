import { describe, expect, it } from "vitest";
import { concerns, hitLine, progressLine, sends } from "./model";

describe("the Playground's lines", () => {
  it("are the non-blank lines that are not comments, in order", () => {
    expect(sends('# a comment\nALFRED name\n\n  "a note"  \nKite fly [1]\n')).toEqual(["ALFRED name", "Kite fly [1]"]);
    expect(sends('"BABS candidate" name')).toEqual(['"BABS candidate" name']);
  });
});

describe("forge progress", () => {
  it("says the attempt and the persona", () => {
    expect(progressLine({ type: "writing", receiver: "Kite", selector: "fly", persona: "BRICK", attempt: 2, of: 3 })).toBe(
      "BRICK writes Kite fly: attempt 2 of 3",
    );
    expect(progressLine({ type: "failed", receiver: "Kite", selector: "fly", attempt: 1, of: 3, why: "boom" })).toMatch(/attempt 1 of 3 failed: boom/);
  });
  it("belongs to the send naming its receiver and selector", () => {
    const p = { type: "testing" as const, receiver: "Kite", selector: "fly", attempt: 1, of: 3 };
    expect(concerns(p, "Kite", "fly", null)).toBe(true);
    expect(concerns(p, "01JX", "fly", "Kite")).toBe(true);
    expect(concerns(p, "Kite", "land", null)).toBe(false);
  });
});

describe("a symbol a query found", () => {
  it("shows its similarity to three places, its name and its kind", () => {
    expect(hitLine({ name: "doc7", kind: "atom", id: "01JX", similarity: 0.57735 })).toBe("0.577  doc7 (atom)");
  });
});
