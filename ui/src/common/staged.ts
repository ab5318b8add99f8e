// What a dry-run step stages, as rows the Debugger draws: per object, slot before → after and
// parents before → after.

import type { ObjRef, StagedKind, StagedView } from "../bindings";

export type SlotChangeKind = "added" | "removed" | "changed";

export type SlotRow = { name: string; change: SlotChangeKind; before: string | null; after: string | null };

export type ParentsRow = { before: ObjRef[]; after: ObjRef[] };

export type StagedModel = {
  id: string;
  name: string;
  kind: StagedKind;
  slots: SlotRow[];
  /** Present only when the parents change (or the object is created with some). */
  parents: ParentsRow | null;
};

export function sameParents(a: readonly ObjRef[], b: readonly ObjRef[]): boolean {
  return a.length === b.length && a.every((p, i) => p.id === b[i]?.id);
}

export function slotRow(name: string, before: string | null, after: string | null): SlotRow {
  const change: SlotChangeKind = before === null ? "added" : after === null ? "removed" : "changed";
  return { name, change, before, after };
}

export function stagedModel(s: StagedView): StagedModel {
  const changed = !sameParents(s.parents_before, s.parents_after);
  return {
    id: s.object.id,
    name: s.object.name || s.object.id,
    kind: s.kind,
    slots: s.slots.map((c) => slotRow(c.name, c.before, c.after)),
    parents: changed ? { before: s.parents_before, after: s.parents_after } : null,
  };
}

/** A short count for a heading: "2 objects: 1 created, 1 updated". */
export function stagedSummary(staged: readonly StagedView[]): string {
  if (staged.length === 0) return "Nothing staged";
  const counts = new Map<StagedKind, number>();
  for (const s of staged) counts.set(s.kind, (counts.get(s.kind) ?? 0) + 1);
  const parts = (["created", "updated", "deleted"] as const)
    .filter((k) => counts.has(k))
    .map((k) => `${counts.get(k)} ${k}`);
  const n = staged.length;
  return `${n} object${n === 1 ? "" : "s"}: ${parts.join(", ")}`;
}

/** Parent names joined for display, "—" when there are none. */
export function parentNames(parents: readonly ObjRef[]): string {
  return parents.length ? parents.map((p) => p.name || p.id).join(", ") : "—";
}
