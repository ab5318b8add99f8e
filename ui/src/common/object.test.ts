// Specification of the Inspector's object facts.
import { describe, expect, it } from "vitest";
import type { ChangeView, SlotView } from "../bindings";
import { checkSlotName, concerns, isPinned } from "./object";

const slot = (name: string, json: string): SlotView => ({ name, json, kind: "bool" });
const change = (id: string): ChangeView => ({ object: { id, name: id }, version: 2, kind: "updated", cycle: "c" });

describe("isPinned", () => {
  it("is true only for a pinned slot holding true", () => {
    expect(isPinned([slot("pinned", "true")])).toBe(true);
    expect(isPinned([slot("pinned", "false")])).toBe(false);
    expect(isPinned([slot("pinned", '"true"')])).toBe(false);
    expect(isPinned([])).toBe(false);
  });
});

describe("concerns", () => {
  const view = { id: "X", parents: [{ id: "P", name: "P" }] };
  it("matches the object and its parents", () => {
    expect(concerns(change("X"), view, "X")).toBe(true);
    expect(concerns(change("P"), view, "X")).toBe(true);
    expect(concerns(change("Z"), view, "X")).toBe(false);
    expect(concerns(change("X"), null, "X")).toBe(true);
  });
});

describe("checkSlotName", () => {
  it("wants a fresh, trimmed name", () => {
    expect(checkSlotName("", [])).toMatch(/name/);
    expect(checkSlotName(" a", [])).toMatch(/spaces/);
    expect(checkSlotName("a", [slot("a", "1")])).toMatch(/already/);
    expect(checkSlotName("b", [slot("a", "1")])).toBeNull();
  });
});
