// Frame-time measurement for the world benchmark: p95 of per-frame costs, and the ratio of
// the world's renderer to a raw fillRect loop drawing the same rectangles.

/** The value below which `p` of the samples fall (nearest rank). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank] ?? NaN;
}

export interface Comparison {
  count: number;
  frames: number;
  worldP95: number;
  baselineP95: number;
  /** Medians, printed beside the p95s: they show how much of a ratio is noise. */
  worldP50: number;
  baselineP50: number;
  ratio: number;
  goal: number;
  met: boolean;
}

export function compare(count: number, world: number[], baseline: number[], goal = 1.5): Comparison {
  if (world.length === 0 || baseline.length === 0) {
    throw new Error(`too few frames to compare (${world.length} vs ${baseline.length})`);
  }
  const worldP95 = percentile(world, 0.95);
  const baselineP95 = percentile(baseline, 0.95);
  const ratio = worldP95 / baselineP95;
  const worldP50 = percentile(world, 0.5);
  const baselineP50 = percentile(baseline, 0.5);
  return { count, frames: world.length, worldP95, baselineP95, worldP50, baselineP50, ratio, goal, met: ratio <= goal };
}
