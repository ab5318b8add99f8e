// Specification of the staged-changes model the Debugger draws.
import { describe, expect, it } from "vitest";
import type { StagedView } from "../bindings";
import { parentNames, sameParents, stagedModel, stagedSummary } from "./staged";

const P = { id: "P", name: "Parent" };
const Q = { id: "Q", name: "Other" };

const view = (over: Partial<StagedView>): StagedView => ({
  object: { id: "X", name: "Thing" },
  kind: "updated",
  slots: [],
  parents_before: [P],
  parents_after: [P],
  ...over,
});

describe("stagedModel", () => {
  it("classifies slot changes", () => {
    const m = stagedModel(view({ slots: [
      { name: "a", before: null, after: "1" },
      { name: "b", before: "2", after: null },
      { name: "c", before: "3", after: "4" },
    ] }));
    expect(m.slots.map((s) => s.change)).toEqual(["added", "removed", "changed"]);
  });

  it("shows parents only when they change", () => {
    expect(stagedModel(view({})).parents).toBeNull();
    expect(stagedModel(view({ parents_after: [P, Q] })).parents).toEqual({ before: [P], after: [P, Q] });
    expect(stagedModel(view({ kind: "created", parents_before: [], parents_after: [P] })).parents).not.toBeNull();
  });

  it("falls back to the id for a nameless object", () => {
    expect(stagedModel(view({ object: { id: "X", name: "" } })).name).toBe("X");
  });
});

describe("helpers", () => {
  it("compares parent lists in order", () => {
    expect(sameParents([P, Q], [P, Q])).toBe(true);
    expect(sameParents([P, Q], [Q, P])).toBe(false);
  });
  it("summarises what is staged", () => {
    expect(stagedSummary([])).toBe("Nothing staged");
    expect(stagedSummary([view({ kind: "created" }), view({}), view({})])).toBe("3 objects: 1 created, 2 updated");
    expect(stagedSummary([view({ kind: "deleted" })])).toBe("1 object: 1 deleted");
  });
  it("names parents", () => {
    expect(parentNames([])).toBe("—");
    expect(parentNames([P, Q])).toBe("Parent, Other");
  });
});
