// A dialogue cycle in the Debugger, thought by thought: each turn's prompt, what grounded it and
// the reply, ALFRED's verdicts, the synthesis — stepped with ◀ ▶. A turn can be rewritten and
// the dialogue resumed from it: the later turns are thought anew as a new cycle.

import type { DialogueTrace, Thought } from "../bindings";
import { autosize, button, h, on } from "../common/dom";

/** Where the stepper is, and the user's rewrites of turns (by turn index). */
export type DialogueDraft = { cursor: number; edits: Map<number, string> };

export function emptyDialogueDraft(): DialogueDraft {
  return { cursor: 0, edits: new Map() };
}

export type DialogueActions = {
  step(to: number): void;
  /** Resume from turn `turn` rewritten as `text`. */
  resume(turn: number, text: string): void;
};

/** A thought's heading: `Round 2 · ROBIN`, `ALFRED's verdict on round 1: continue`, … */
export function thoughtTitle(t: Thought): string {
  switch (t.kind) {
    case "verdict":
      return `ALFRED's verdict on round ${t.round}: ${t.verdict ?? "?"}`;
    case "synthesis":
      return "ALFRED's synthesis";
    case "yield":
      return `Round ${t.round} · waited for the user`;
    default:
      return `Round ${t.round} · ${t.persona}${t.error ? " (broke off)" : ""}`;
  }
}

/** What marks a thought: kept from the resumed dialogue, or rewritten by the user. */
export function thoughtMarks(t: Thought): string {
  const marks = [];
  if (t.edited) marks.push("rewritten by you");
  else if (t.kept) marks.push("kept");
  if (t.model && !t.edited) marks.push(t.model);
  if (t.ms !== null) marks.push(`${(t.ms / 1000).toFixed(1)} s`);
  return marks.join(" · ");
}

export function dialogueSection(trace: DialogueTrace, draft: DialogueDraft, busy: boolean, a: DialogueActions): HTMLElement {
  const n = trace.thoughts.length;
  const at = Math.max(0, Math.min(draft.cursor, n - 1));
  return h("section", { class: "section dialogue", testid: "dialogue" },
    h("h2", { text: `Dialogue: ${trace.question}` }),
    h("p", { class: "small", testid: "dialogue-sides", text: `${trace.sides.join(" and ")} argue; ALFRED judges (at most ${trace.rounds} rounds)` }),
    n === 0
      ? h("div", { class: "empty", text: "No thought got as far as a reply." })
      : h("div", { class: "stepper" },
          button("◀", () => a.step(at - 1), { testid: "thought-prev", attrs: at === 0 ? { disabled: "" } : {} }),
          h("span", { class: "small", testid: "thought-position", text: `Thought ${at + 1} of ${n}` }),
          button("▶", () => a.step(at + 1), { testid: "thought-next", attrs: at >= n - 1 ? { disabled: "" } : {} }),
        ),
    h("ol", { class: "thoughts" }, ...trace.thoughts.map((t, i) => thought(t, i, i === at, draft, busy, a))),
  );
}

function thought(t: Thought, i: number, current: boolean, draft: DialogueDraft, busy: boolean, a: DialogueActions): HTMLElement {
  const li = h("li", { class: `thought ${t.kind}${current ? " current" : ""}${t.error ? " failed" : ""}`, testid: `thought-${i}` });
  const head = h("div", { class: "thought-head" },
    h("strong", { text: thoughtTitle(t) }),
    h("span", { class: "muted small", text: thoughtMarks(t) }),
  );
  on(head, "click", () => a.step(i));
  li.append(head);
  if (!current) {
    li.append(h("div", { class: "small muted excerpt", text: t.text.length > 120 ? `${t.text.slice(0, 119)}…` : t.text }));
    return li;
  }
  if (t.prompt) li.append(fold("Prompt to the model", t.prompt));
  if (t.recalled.length) li.append(h("div", { class: "small", text: `Recalled: ${t.recalled.join(", ")}` }));
  if (t.error) li.append(h("pre", { class: "message error small", text: t.error }));
  if (t.turn === null) {
    li.append(h("pre", { class: "reply", testid: `thought-text-${i}`, text: t.text }));
    return li;
  }
  const turn = t.turn;
  const ta = h("textarea", { class: "code-edit", testid: `turn-edit-${turn}`, attrs: { "aria-label": `Turn ${turn}` } });
  ta.value = draft.edits.get(turn) ?? t.text;
  autosize(ta, 12);
  on(ta, "input", (e) => {
    const el = e.currentTarget as HTMLTextAreaElement;
    autosize(el, 12);
    if (el.value === t.text) draft.edits.delete(turn);
    else draft.edits.set(turn, el.value);
  });
  li.append(
    h("div", { class: "small muted", text: "The reply — rewrite it, then resume: the later turns are thought anew" }),
    ta,
    button(busy ? "Resuming…" : "Resume from this turn", () => a.resume(turn, draft.edits.get(turn) ?? t.text), {
      class: "primary",
      testid: `resume-turn-${turn}`,
      attrs: busy ? { disabled: "" } : {},
    }),
  );
  return li;
}

function fold(title: string, text: string): HTMLElement {
  return h("details", { class: "fold" }, h("summary", { text: title }), h("pre", { class: "mono small", text }));
}
