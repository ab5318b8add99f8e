import { describe, expect, it } from "vitest";
import type { MorphView } from "../bindings";
import { badgesFor } from "./badges";

const persona = (over: Partial<MorphView> = {}): MorphView => ({
  object: { id: "01J0000000000000000000000A", name: "BRICK" },
  kind: "persona",
  position: null,
  pinned: false,
  model: "mistral:7b",
  model_state: "offline",
  busy: false,
  memory_count: null,
  ...over,
});

describe("a morph's badges", () => {
  it("say a persona's model is offline, and nothing about memory that does not exist", () => {
    expect(badgesFor(persona())).toEqual([{ label: "model offline", tone: "warn" }]);
  });

  it("show busy and the memory count when there are some", () => {
    const labels = badgesFor(persona({ model_state: "loaded", busy: true, memory_count: 12 })).map((b) => b.label);
    expect(labels).toEqual(["model loaded", "busy", "12 memories"]);
  });

  it("mark a pinned object as pinned", () => {
    expect(badgesFor(persona({ kind: "object", pinned: true, model: null }))).toEqual([{ label: "pinned", tone: "info" }]);
  });
});
