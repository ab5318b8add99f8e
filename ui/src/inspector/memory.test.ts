import { describe, expect, it } from "vitest";
import type { Concept } from "../bindings";
import { conceptLine } from "./memory";

const concept = (over: Partial<Concept>): Concept => ({
  id: "01J",
  persona: "BABS",
  label: "Kite flight",
  definition: "How kites stay up.",
  size: 4,
  documents: 2,
  needs_name: false,
  symbol: "concept:Kite flight",
  ...over,
});

describe("conceptLine", () => {
  it("names a concept and counts its chunks and documents", () => {
    expect(conceptLine(concept({}))).toEqual({ name: "Kite flight", size: "4 chunks from 2 documents", stale: false });
    expect(conceptLine(concept({ size: 1, documents: 1 })).size).toBe("1 chunk from 1 document");
  });

  it("says when a concept has no name yet, or has changed since it was named", () => {
    expect(conceptLine(concept({ label: null, needs_name: true }))).toMatchObject({ name: "(not named yet)", stale: false });
    expect(conceptLine(concept({ needs_name: true })).stale).toBe(true);
  });
});
