import { describe, expect, it } from "vitest";
import type { MorphView, SchedulerView } from "../bindings";
import { vramBar, withModelState } from "./vram";

const status = (over: Partial<SchedulerView> = {}): SchedulerView => ({
  host: "http://127.0.0.1:11434",
  offline: null,
  budget: 8 * 2 ** 30,
  used: 6.3e9,
  models: [
    { model: "phi3:3.8b", size: 2.2e9, state: "loaded", busy: false, pinned: true, personas: ["ALFRED"] },
    { model: "mistral:7b", size: 4.1e9, state: "loading", busy: false, pinned: false, personas: ["BRICK"] },
  ],
  queues: [["mistral:7b", 1]],
  personas: [
    { persona: "ALFRED", state: "loaded" },
    { persona: "BRICK", state: "loading" },
  ],
  ...over,
});

describe("the VRAM bar", () => {
  it("shows each model's share of the budget, and what is queued", () => {
    const { segments, caption } = vramBar(status());
    expect(caption).toBe("VRAM 6.3 GB / 8 GiB · 1 queued");
    expect(segments.map((s) => s.label)).toEqual(["phi3:3.8b 2.2 GB (pinned)", "mistral:7b 4.1 GB loading"]);
    expect(segments[0]?.share).toBeCloseTo(2.2e9 / 2 ** 33, 6);
  });

  it("says Ollama is offline rather than showing stale models", () => {
    expect(vramBar(status({ offline: "Ollama is not running" }))).toEqual({ segments: [], caption: "Ollama offline" });
  });

  it("gives a persona morph its model state by name", () => {
    const brick: MorphView = {
      object: { id: "o:brick", name: "BRICK" },
      kind: "persona",
      position: null,
      pinned: false,
      model: "mistral:7b",
      model_state: "offline",
      busy: false,
      memory_count: 0,
    };
    expect(withModelState(brick, status()).model_state).toBe("loading");
    const robin = { ...brick, object: { id: "o:robin", name: "ROBIN" } };
    expect(withModelState(robin, status())).toBe(robin);
  });
});
