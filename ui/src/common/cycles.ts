// Cycle history as the Debugger and the Inspector list it.

import type { CycleSummary, IpcError } from "../bindings";

export type CycleFilter = "all" | "suspended";

/** Newest first (by start time; ties keep their order). */
export function newestFirst(cycles: readonly CycleSummary[]): CycleSummary[] {
  return cycles
    .map((c, i) => ({ c, i }))
    .sort((a, b) => b.c.started - a.c.started || a.i - b.i)
    .map(({ c }) => c);
}

export function filterCycles(cycles: readonly CycleSummary[], filter: CycleFilter): CycleSummary[] {
  return filter === "all" ? [...cycles] : cycles.filter((c) => c.state === "suspended");
}

/**
 * Which cycle to show first: the one asked for; else the newest suspended one (it needs
 * attention); else the newest; `null` when there are none.
 */
export function initialCycle(cycles: readonly CycleSummary[], asked: string | null): string | null {
  if (asked) return asked;
  return (cycles.find((c) => c.state === "suspended") ?? cycles[0])?.id ?? null;
}

/** What a failed command reports, as one line for the UI. */
export function errorMessage(error: IpcError | unknown): string {
  if (error && typeof error === "object" && "type" in error && error.type === "NoDrop") {
    return "no files were dropped on this window";
  }
  if (error && typeof error === "object" && "data" in error && typeof error.data === "string") {
    return error.data;
  }
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

/** Whether a command failed because the thing it names does not exist. */
export function isNotFound(error: IpcError | unknown): boolean {
  return !!error && typeof error === "object" && "type" in error && error.type === "NotFound";
}

/** Runs a command, turning a thrown error into the same shape as a returned one. */
export async function call<T>(
  run: () => Promise<{ status: "ok"; data: T } | { status: "error"; error: IpcError }>,
): Promise<{ ok: true; data: T } | { ok: false; message: string; notFound: boolean }> {
  try {
    const r = await run();
    if (r.status === "ok") return { ok: true, data: r.data };
    return { ok: false, message: errorMessage(r.error), notFound: isNotFound(r.error) };
  } catch (e) {
    return { ok: false, message: errorMessage(e), notFound: false };
  }
}
