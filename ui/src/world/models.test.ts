import { describe, expect, it } from "vitest";
import type { ModelView } from "../bindings";
import { modelRow, pullText, pullable } from "./models";

const model = (over: Partial<ModelView> = {}): ModelView => ({
  name: "gguf:SmolLM2-135M-Instruct.Q4_1",
  runtime: "embedded",
  size: 192_734_272,
  loaded: true,
  personas: ["ALFRED", "BRICK"],
  problem: null,
  ...over,
});

describe("the models dialog", () => {
  it("shows each model's runtime, size, state and who uses it, or why it cannot be used", () => {
    expect(modelRow(model())).toEqual(["gguf:SmolLM2-135M-Instruct.Q4_1", "embedded", "193 MB", "loaded", "ALFRED, BRICK"]);
    const broken = model({ name: "gguf:broken", size: 0, loaded: false, personas: [], problem: "truncated" });
    expect(modelRow(broken)).toEqual(["gguf:broken", "embedded", "?", "", "cannot be used: truncated"]);
  });

  it("shows a pull's progress in bytes and percent", () => {
    expect(pullText({ status: "fetching", done: 25e6, total: 100e6 })).toBe("fetching 25 MB of 100 MB (25%)");
    expect(pullText({ status: "pulling manifest", done: null, total: null })).toBe("pulling manifest");
  });

  it("takes hub files and Ollama tags, and says what a name should look like", () => {
    expect(pullable("hf:bartowski/SmolLM2-360M-Instruct-GGUF/SmolLM2-360M-Instruct-Q4_K_M.gguf")).toBeNull();
    expect(pullable("hf:o/r/f.gguf@abc123")).toBeNull();
    expect(pullable("phi3:3.8b")).toBeNull();
    expect(pullable("hf:owner/repo")).toContain("hf:OWNER/REPO/FILE.gguf");
    expect(pullable("gguf:mine")).toContain("copy it");
    expect(pullable("")).toContain("Ollama tag");
  });
});
