// Small facts about an object view the Inspector acts on.

import type { ChangeView, ObjectView, SlotView } from "../bindings";

/** The slot that pins an object to the world (src: telos-core world.rs `PINNED`). */
export const PINNED_SLOT = "pinned";

/** Whether the object is pinned to the world: its `pinned` slot is exactly `true`. */
export function isPinned(slots: readonly SlotView[]): boolean {
  return slots.some((s) => s.name === PINNED_SLOT && s.json.trim() === "true");
}

/** Whether a committed change concerns the shown object: it, or one of its parents. */
export function concerns(change: ChangeView, view: Pick<ObjectView, "id" | "parents"> | null, shownId: string): boolean {
  if (change.object.id === shownId) return true;
  return !!view && view.parents.some((p) => p.id === change.object.id);
}

/** Checks a new slot's name; `null` when it will do. */
export function checkSlotName(name: string, existing: readonly SlotView[]): string | null {
  if (name.trim() === "") return "Give the slot a name";
  if (name !== name.trim()) return "A slot name cannot start or end with spaces";
  if (existing.some((s) => s.name === name)) return `There is already a slot '${name}': use its Edit button`;
  return null;
}
