import { describe, expect, it } from "vitest";
import type { Thought } from "../bindings";
import { thoughtMarks, thoughtTitle } from "./dialogue";

const t = (over: Partial<Thought>): Thought => ({
  kind: "turn",
  round: 1,
  persona: "BRICK",
  prompt: null,
  recalled: [],
  text: "",
  verdict: null,
  model: null,
  ms: null,
  error: null,
  kept: false,
  edited: false,
  turn: 0,
  ...over,
});

describe("a dialogue in the Debugger", () => {
  it("names each thought", () => {
    expect(thoughtTitle(t({}))).toBe("Round 1 · BRICK");
    expect(thoughtTitle(t({ error: "oom", turn: null }))).toBe("Round 1 · BRICK (broke off)");
    expect(thoughtTitle(t({ kind: "verdict", round: 2, verdict: "continue" }))).toBe("ALFRED's verdict on round 2: continue");
    expect(thoughtTitle(t({ kind: "synthesis" }))).toBe("ALFRED's synthesis");
  });

  it("marks what was kept or rewritten, the model and the time", () => {
    expect(thoughtMarks(t({ edited: true, model: "edited by you", ms: 0 }))).toBe("rewritten by you · 0.0 s");
    expect(thoughtMarks(t({ kept: true, model: "mistral:7b", ms: 1500 }))).toBe("kept · mistral:7b · 1.5 s");
  });
});
