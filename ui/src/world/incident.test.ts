import { describe, expect, it } from "vitest";
import { incidentText } from "./incident";

describe("incidentText", () => {
  it("says whether and when a task starts again", () => {
    const cases: [number | null, string][] = [
      [0.5, 'Background task "inbox watch" failed: gone; it starts again in 0.5 s'],
      [16, 'Background task "inbox watch" failed: gone; it starts again in 16 s'],
      [null, 'Background task "inbox watch" failed: gone'],
    ];
    for (const [restart_in, want] of cases) {
      expect(incidentText({ task: "inbox watch", what: "failed: gone", restart_in })).toBe(want);
    }
  });
});
