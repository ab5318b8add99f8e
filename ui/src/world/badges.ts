// What a persona or object morph shows about its object: its badges, from the core's view.

import type { MorphView, StatusChange } from "../bindings";
import type { Badge } from "../morphic";

/**
 * Badges for a morph: what it is doing right now (`activity`, e.g. "embedding 3/9") first,
 * then for personas the runtime and model that answer (a warning when it is a fallback), the
 * model state, busy and documents remembered; pinned for objects.
 */
export function badgesFor(view: MorphView, activity?: string | null): Badge[] {
  const badges: Badge[] = [];
  if (activity) badges.push({ label: activity, tone: "info" });
  if (view.kind === "persona") {
    if (view.runtime && view.model) {
      const model = view.model.replace(/^gguf:/, "");
      badges.push({ label: `${view.runtime} · ${model}`, tone: view.fallback ? "warn" : "info" });
    }
    switch (view.model_state) {
      case "loaded":
        badges.push({ label: "model loaded", tone: "ok" });
        break;
      case "loading":
        badges.push({ label: "model loading", tone: "info" });
        break;
      case "queued":
        badges.push({ label: "queued", tone: "info" });
        break;
      case "unloaded":
        badges.push({ label: "model unloaded", tone: "info" });
        break;
      case "offline":
        badges.push({ label: "model offline", tone: "warn" });
        break;
    }
    if (view.busy && !activity) badges.push({ label: "busy", tone: "info" });
    if (view.memory_count !== null) {
      const n = view.memory_count;
      badges.push({ label: n === 1 ? "1 doc" : `${n} docs`, tone: "info" });
    }
  } else {
    badges.push({ label: "pinned", tone: "info" });
  }
  return badges;
}

/** The view with a live status change applied (the view itself is left as it was). */
export function withStatus(view: MorphView, change: StatusChange): MorphView {
  switch (change.type) {
    case "busy":
      return { ...view, busy: change.busy };
  }
}
