// What a persona or object morph shows about its object: its badges, from the core's view.

import type { MorphView } from "../bindings";
import type { Badge } from "../morphic";

/** Badges for a morph: model state for personas, busy, memory count, pinned. */
export function badgesFor(view: MorphView): Badge[] {
  const badges: Badge[] = [];
  if (view.kind === "persona") {
    switch (view.model_state) {
      case "loaded":
        badges.push({ label: "model loaded", tone: "ok" });
        break;
      case "loading":
        badges.push({ label: "model loading", tone: "info" });
        break;
      case "offline":
        badges.push({ label: "model offline", tone: "warn" });
        break;
    }
    if (view.busy) badges.push({ label: "busy", tone: "info" });
    if (view.memory_count !== null) {
      badges.push({ label: `${view.memory_count} memories`, tone: "info" });
    }
  } else {
    badges.push({ label: "pinned", tone: "info" });
  }
  return badges;
}
