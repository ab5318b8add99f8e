import { describe, expect, it } from "vitest";
import type { Report } from "../bindings";
import { lengthBias, progressOf, reportLine, weekBars } from "./learning";

const report = (over: Partial<Report>): Report => ({
  pairs: [],
  wins: 4,
  ties: 1,
  losses: 0,
  flipped: 1,
  win_rate: 0.9,
  low: 0.55,
  high: 0.98,
  p_value: 0.125,
  criteria: [],
  incumbent_latency: { p50: 1, p95: 2 },
  candidate_latency: { p50: 1, p95: 2 },
  fit: { fits: true, runtime: "embedded", footprint: 1, budget: 2 },
  length_bias: 0.75,
  recommend: true,
  why: "",
  timing: { answering: 1, judging: 1, bookkeeping: 1 },
  ...over,
});

describe("an ascension's report in words", () => {
  it("says wins, ties, losses, flips, the interval and the sign test", () => {
    expect(reportLine(report({}))).toBe("4–1–0 (w–t–l) (1 flipped) · win rate 0.90, 95% 0.55–0.98 · p = 0.125");
    expect(reportLine(report({ flipped: 0, win_rate: null }))).toContain("win rate 0.00");
  });

  it("states the judge's length bias, or that there was nothing to measure it on", () => {
    expect(lengthBias(report({}))).toBe("75% of the judge's decisive verdicts went to the longer answer");
    expect(lengthBias(report({ length_bias: null }))).toContain("no decisive verdict");
  });
});

describe("performance per week", () => {
  it("is a bar per week, its mean out of 5", () => {
    const monday = Date.UTC(2026, 10, 30);
    const bars = weekBars([
      { week: monday, mean: 2.5, exchanges: 4 },
      { week: monday + 7 * 86_400_000, mean: 5, exchanges: 1 },
    ]);
    expect(bars.map((b) => [b.label, b.width])).toEqual([["2026-11-30", 50], ["2026-12-07", 100]]);
    expect(bars[0]?.title).toBe("2.50 over 4 exchanges");
  });
});

describe("progress in words", () => {
  it("follows curation, training and ascension", () => {
    expect(progressOf({ type: "started", exchanges: 3 })).toBe("ALFRED judges 3 exchanges…");
    expect(progressOf({ type: "step", step: 2, steps: 60, loss: 1.23456, ms: 300 })).toBe("step 2/60: loss 1.235");
    expect(progressOf({ type: "judged", done: 1, of: 4, outcome: "win" })).toBe("judged 1/4: win for the candidate");
    expect(progressOf({ type: "fetching", status: "pulling", done: 50, total: 200 })).toBe("pulling: 25%");
  });
});
