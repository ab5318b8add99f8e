// A dialogue on the canvas: each turn streams into its speaker's bubble (BRICK and ROBIN, or
// the picked pair, in turn; ALFRED's synthesis last); ALFRED's verdicts and the ending show as toasts.

import type { DialogueEvent } from "../bindings";

/** Where an event goes: a persona's bubble (start a turn, add text) or a toast. */
export type DialogueAction =
  | { kind: "turn"; persona: string; label: string }
  | { kind: "text"; persona: string; text: string }
  | { kind: "toast"; text: string; error: boolean }
  | { kind: "none" };

export function dialogueAction(e: DialogueEvent): DialogueAction {
  switch (e.type) {
    case "started":
      return { kind: "toast", text: `${e.sides.join(" and ")} argue (at most ${e.rounds} rounds): ${e.question}`, error: false };
    case "turn":
      return { kind: "turn", persona: e.persona, label: e.round === 0 ? "Synthesis: " : `Round ${e.round}: ` };
    case "token":
      return { kind: "text", persona: e.persona, text: e.text };
    case "verdict":
      return { kind: "toast", text: `ALFRED, round ${e.round}: ${e.verdict}${e.reason ? ` — ${e.reason}` : ""}`, error: false };
    case "done":
      return { kind: "toast", text: `The dialogue ended (${e.ending}) and is recorded as ${e.dialogue.name}.`, error: false };
    case "failed":
      return {
        kind: "toast",
        text: e.cycle ? `The dialogue failed: ${e.message} (its cycle is in the Debugger)` : `The dialogue failed: ${e.message}`,
        error: true,
      };
  }
}
