import { describe, expect, it } from "vitest";
import type { AgendaView, Motive, Work } from "../bindings";
import { budgetText, holdText, motiveRow, waiting, workRow } from "./agenda";

const work = (over: Partial<Work>): Work => ({
  id: "w1",
  name: "work 1",
  kind: "research",
  state: "proposed",
  persona: "BABS",
  subject: "What is a kite?",
  detail: null,
  key: "k",
  motive: "m",
  priority: 1,
  at: 0,
  started: null,
  ms: null,
  cycle: null,
  result: null,
  ...over,
});

describe("the agenda panel", () => {
  it("says why nothing runs, with the time left", () => {
    expect(holdText(null, 0)).toBe("free to act");
    expect(holdText({ type: "share", until: 5_500 }, 1_000)).toContain("room in 5 s");
    expect(holdText({ type: "userFirst" }, 0)).toContain("your request goes first");
    expect(holdText({ type: "off" }, 0)).toContain("autonomy is off");
  });

  it("shows a work's state, kind, persona, subject and result with its time", () => {
    expect(workRow(work({}))).toEqual(["proposed", "research", "BABS", "What is a kite?", ""]);
    const done = workRow(work({ state: "done", ms: 2500, result: "x".repeat(200) }));
    expect(done[4]).toMatch(/^x{139}… · 2\.5 s$/);
  });

  it("names a motive's kind and signal in words, and counts what waits", () => {
    const m: Motive = {
      id: "m",
      name: "motive 1",
      kind: "cognitive_dissonance",
      signal: "forge_failed",
      persona: "BRICK",
      key: "k",
      summary: "every attempt failed",
      evidence: null,
      source: null,
      work: null,
      at: 0,
    };
    expect(motiveRow(m)).toEqual(["dissonance", "forge failed", "BRICK", "every attempt failed"]);
    const view: AgendaView = {
      autonomy: "ask",
      per_hour: 12,
      share: 0.2,
      hold: null,
      motives: [m],
      works: [work({}), work({ state: "done" })],
    };
    expect(waiting(view)).toBe(1);
    expect(budgetText(view)).toBe("at most 12 acts an hour and 20% of model time");
  });
});
