// What the world window says when a background task fails: which task, what happened, and
// whether it starts again.

import type { TaskIncident } from "../bindings";

/** One line for a toast. */
export function incidentText(i: TaskIncident): string {
  if (i.restart_in === null) return `Background task "${i.task}" ${i.what}`;
  const secs = i.restart_in < 1 ? i.restart_in.toFixed(1) : Math.round(i.restart_in).toString();
  return `Background task "${i.task}" ${i.what}; it starts again in ${secs} s`;
}
