// How an ingest shows on a persona's morph: one short activity label per progress event.

import type { Progress } from "../bindings";

/** The file's name without its folders. */
export function fileName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

/** The morph's activity badge for a progress event; null once the file is done or failed. */
export function activityLabel(p: Progress): string | null {
  switch (p.stage) {
    case "reading":
      return "reading";
    case "fetching":
      return `fetching the model ${p.done_mb}/${p.total_mb ?? "?"} MB`;
    case "chunking":
      return "chunking";
    case "embedding":
      return `embedding ${p.done}/${p.total}`;
    case "indexing":
      return "indexing";
    case "done":
    case "failed":
      return null;
  }
}
