import { describe, expect, it } from "vitest";
import type { MorphView } from "../bindings";
import { badgesFor, withStatus } from "./badges";

const persona = (over: Partial<MorphView> = {}): MorphView => ({
  object: { id: "01J0000000000000000000000A", name: "BRICK" },
  kind: "persona",
  position: null,
  pinned: false,
  model: "mistral:7b",
  runtime: null,
  fallback: null,
  model_state: "offline",
  busy: false,
  memory_count: null,
  ...over,
});

describe("a morph's badges", () => {
  it("say a persona's model is offline, and nothing about memory when the view has none", () => {
    expect(badgesFor(persona())).toEqual([{ label: "model offline", tone: "warn" }]);
    expect(badgesFor(persona({ memory_count: 1 })).map((b) => b.label)).toEqual(["model offline", "1 doc"]);
  });

  it("show busy and the memory count when there are some", () => {
    const labels = badgesFor(persona({ model_state: "loaded", busy: true, memory_count: 12 })).map((b) => b.label);
    expect(labels).toEqual(["model loaded", "busy", "12 docs"]);
  });

  it("mark a pinned object as pinned", () => {
    expect(badgesFor(persona({ kind: "object", pinned: true, model: null }))).toEqual([{ label: "pinned", tone: "info" }]);
  });
});

describe("the runtime badge", () => {
  it("names the runtime and model, and warns when the persona falls back", () => {
    expect(badgesFor(persona({ runtime: "ollama" }))[0]).toEqual({ label: "ollama · mistral:7b", tone: "info" });
    const fallback = persona({
      runtime: "embedded",
      model: "gguf:SmolLM2-135M-Instruct.Q4_1",
      fallback: "Ollama does not answer at http://127.0.0.1:11434",
    });
    expect(badgesFor(fallback)[0]).toEqual({ label: "embedded · SmolLM2-135M-Instruct.Q4_1", tone: "warn" });
  });
});

describe("a live status change", () => {
  it("turns the busy badge on and off without touching the rest", () => {
    const idle = persona({ memory_count: 3 });
    const busy = withStatus(idle, { type: "busy", persona: idle.object.id, busy: true });
    expect(badgesFor(busy).map((b) => b.label)).toEqual(["model offline", "busy", "3 docs"]);
    expect(idle.busy).toBe(false);
    const done = withStatus(busy, { type: "busy", persona: idle.object.id, busy: false });
    expect(badgesFor(done).map((b) => b.label)).toEqual(["model offline", "3 docs"]);
  });
});

describe("an activity", () => {
  it("comes first and stands in for the busy badge", () => {
    const labels = badgesFor(persona({ busy: true, memory_count: 2 }), "embedding 3/9").map((b) => b.label);
    expect(labels).toEqual(["embedding 3/9", "model offline", "2 docs"]);
  });
});
