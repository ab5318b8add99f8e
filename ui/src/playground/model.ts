// The Playground's model, apart from the page: which lines of the editor are message sends,
// the forge's progress told as one line, and a symbol a query found.

import type { ForgeProgress, SymbolHit } from "../bindings";

/**
 * The lines to evaluate, in order: blank lines and comments (`#` or `"…"` alone, as in a
 * Smalltalk workspace) are skipped.
 */
export function sends(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#") && !/^"[^"]*"$/.test(l));
}

/** A forge's step as the Playground shows it under the line that started it. */
export function progressLine(p: ForgeProgress): string {
  switch (p.type) {
    case "writing":
      return `${p.persona} writes ${p.receiver} ${p.selector}: attempt ${p.attempt} of ${p.of}`;
    case "testing":
      return `the sandbox tests attempt ${p.attempt} of ${p.of}`;
    case "failed":
      return `attempt ${p.attempt} of ${p.of} failed: ${p.why}`;
    case "passed":
      return `attempt ${p.attempt} passed: ${p.receiver} ${p.selector} is installed`;
    case "suspended":
      return `the forge failed; its cycle is suspended for the Debugger`;
  }
}

/** Whether a forge's progress is about the send `receiver selector`. */
export function concerns(p: ForgeProgress, receiver: string, selector: string, receiverName: string | null): boolean {
  return p.selector === selector && (p.receiver === receiver || p.receiver === receiverName);
}

/** A symbol a hypervector query cleaned up to: its similarity, name and kind. */
export function hitLine(hit: SymbolHit): string {
  return `${hit.similarity.toFixed(3)}  ${hit.name} (${hit.kind})`;
}
