// How an ingest shows on a persona's morph: one short activity label per progress event.

import type { Progress } from "../bindings";

/** The file's name without its folders. */
export function fileName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

/** Where a file stands in its drop: its 1-based place and the drop's size. */
export interface Place {
  n: number;
  of: number;
}

/** What the file is at: the stage, with the embedding count or download size. */
function stageLabel(p: Progress): string | null {
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

/**
 * The morph's activity badge for a progress event: the file's stage, after its place when
 * the drop has several ("2/5 embedding 32/40"; the badge row has no room for names, which
 * the drop's toast shows); null once the file is done or failed.
 */
export function activityLabel(p: Progress, place?: Place): string | null {
  const stage = stageLabel(p);
  if (stage === null) return null;
  return place && place.of > 1 ? `${place.n}/${place.of} ${stage}` : stage;
}

/** The drop's toast while a file is read: which file, and where it stands in the drop. */
export function readingText(persona: string, path: string, place: Place): string {
  const of = place.of > 1 ? ` (${place.n} of ${place.of})` : "";
  return `${persona} is reading ${fileName(path)}${of}…`;
}

/** A file's error for a toast, by the file's name (the error names it by its whole path). */
export function failureText(path: string, error: string): string {
  const name = fileName(path);
  return error.includes(path) ? error.split(path).join(name) : `${name}: ${error}`;
}
