// A suspended cycle's program as the Debugger edits it, and the step cursor over it.

import { checkJson, excerpt } from "./json";

/** The user's changes to a program: replaced operation texts and removed operations. */
export type ProgramEdits = {
  /** Operation index → the edited JSON text. */
  texts: ReadonlyMap<number, string>;
  /** Indices of operations left out. */
  removed: ReadonlySet<number>;
};

export const noEdits = (): ProgramEdits => ({ texts: new Map(), removed: new Set() });

/** Whether operation `i` differs from the recorded one. */
export function isEdited(ops: readonly string[], edits: ProgramEdits, i: number): boolean {
  if (edits.removed.has(i)) return true;
  const text = edits.texts.get(i);
  return text !== undefined && text !== ops[i];
}

export type ProgramText =
  | { ok: true; text: string | null }
  | { ok: false; index: number; message: string };

/**
 * The program to resume with, as one JSON array text: `null` when nothing was edited (resume
 * as recorded), else the operations in order, edited texts in place of the recorded ones
 * and removed ones left out. Each operation keeps its exact text. Invalid JSON in an edited
 * operation is refused, naming the operation.
 */
export function programText(ops: readonly string[], edits: ProgramEdits): ProgramText {
  if (!ops.some((_, i) => isEdited(ops, edits, i))) return { ok: true, text: null };
  const kept: string[] = [];
  for (let i = 0; i < ops.length; i++) {
    if (edits.removed.has(i)) continue;
    const text = edits.texts.get(i) ?? ops[i] ?? "";
    const problem = checkJson(text);
    if (problem) return { ok: false, index: i, message: `Operation ${i + 1}: ${problem.message}` };
    kept.push(text.trim());
  }
  return { ok: true, text: `[${kept.join(",")}]` };
}

/** Where each step button takes the cursor; `cursor` is how many operations are applied. */
export type StepTargets = { start: number; back: number; forward: number; toFailure: number };

export function stepTargets(cursor: number, of: number, failedAt: number | null): StepTargets {
  const c = Math.min(Math.max(0, cursor), of);
  return {
    start: 0,
    back: Math.max(0, c - 1),
    forward: Math.min(of, c + 1),
    // Apply the failing operation too, so its error shows (the commit failing: all of them).
    toFailure: failedAt === null ? of : Math.min(of, failedAt + 1),
  };
}

/** The cursor in words: "Before operation 1 of 4", "After operation 2 of 4". */
export function cursorLabel(step: number, of: number): string {
  if (of === 0) return "The program is empty";
  if (step <= 0) return `Before operation 1 of ${of}`;
  return `After operation ${Math.min(step, of)} of ${of}`;
}

/** A one-line reading of an operation's JSON text, e.g. "set Counter.count = 5". */
export function describeOp(text: string): string {
  let op: unknown;
  try {
    op = JSON.parse(text);
  } catch {
    return excerpt(text, 80);
  }
  if (!op || typeof op !== "object" || Array.isArray(op)) return excerpt(text, 80);
  const o = op as Record<string, unknown>;
  const s = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v) ?? "?");
  switch (o.op) {
    case "new": {
      const parents = Array.isArray(o.parents) && o.parents.length ? ` (parents: ${o.parents.map(s).join(", ")})` : "";
      return `new ${s(o.name)}${parents}`;
    }
    case "set": {
      // A JavaScript number cannot hold a big integer: show such a value as written.
      const big = typeof o.value === "number" && !Number.isSafeInteger(o.value) && Number.isInteger(o.value);
      const raw = big ? /"value"\s*:\s*(-?\d+)/.exec(text)?.[1] : undefined;
      return excerpt(`set ${s(o.object)}.${s(o.slot)} = ${raw ?? JSON.stringify(o.value) ?? "?"}`, 80);
    }
    case "clone":
      return `clone ${s(o.object)} as ${s(o.name)}`;
    case "delete":
      return `delete ${s(o.object)}`;
    case "add-parent":
      return `add-parent ${s(o.object)} ← ${s(o.parent)}`;
    default:
      return typeof o.op === "string" ? `${o.op} ${excerpt(text, 60)}` : excerpt(text, 80);
  }
}
