import { describe, expect, it } from "vitest";
import { compare, percentile } from "./frames";

describe("frame statistics", () => {
  it("take the nearest-rank percentile", () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(samples, 0.95)).toBe(95);
    expect(percentile(samples, 0.5)).toBe(50);
    expect(percentile([7], 0.95)).toBe(7);
  });

  it("compare p95s against the goal", () => {
    const c = compare(1000, [2, 2, 2, 4], [1, 1, 1, 2]);
    expect(c.ratio).toBe(2);
    expect(c.met).toBe(false);
    expect(compare(1000, [1, 1], [1, 1]).met).toBe(true);
  });
});

describe("a comparison without frames", () => {
  it("is refused rather than reported as NaN", () => {
    expect(() => compare(1000, [], [1])).toThrow(/too few frames/);
  });
});
