// The Debugger's right pane: one cycle — summary, error, objects, program, recorded steps —
// and, while it is suspended, Resume and Discard.

import type { CycleView, StepView as TraceStep } from "../bindings";
import { append, badge, button, h, linkButton } from "../common/dom";
import { excerpt, prettyJson } from "../common/json";
import { formatDuration, formatFullTime } from "../common/time";
import { dialogueSection, type DialogueDraft } from "./dialogue";
import { forgeSection, type ForgeDraft } from "./forge";
import { programSection, type Draft, type StepCursor } from "./program";

export type Outcome = { kind: "ok" | "error"; text: string; testid: string; link?: { label: string; cycle: string } };

export type DetailModel = {
  id: string;
  view: CycleView | null;
  loadError: string | null;
  draft: Draft;
  /** Edits of a forge cycle's attempts' code. */
  forgeDraft: ForgeDraft;
  /** A dialogue cycle's stepper and rewritten turns. */
  dialogueDraft: DialogueDraft;
  step: StepCursor;
  busy: "resume" | "discard" | null;
  /** The result of the last Resume or Discard, or a failure to open something. */
  outcome: Outcome | null;
};

export type DetailActions = {
  step(to: number): void;
  rerender(): void;
  openObject(id: string): void;
  select(cycle: string): void;
  resume(): void;
  /** Resume a forge cycle from an attempt with its edited code (`null`: BRICK tries again). */
  resumeForge(attempt: number | null): void;
  /** Step a dialogue to thought `to`. */
  stepThought(to: number): void;
  /** Resume a dialogue from turn `turn` rewritten as `text`. */
  resumeDialogue(turn: number, text: string): void;
  discard(): void;
  retry(): void;
};

export function detailPane(m: DetailModel, a: DetailActions): HTMLElement {
  const pane = h("div", { class: "detail-inner", testid: "cycle-detail", data: { cycle: m.id } });
  if (m.loadError) {
    pane.append(
      h("div", { class: "message error", testid: "detail-error", text: `Could not load cycle ${m.id}: ${m.loadError}` }),
      button("Retry", a.retry),
    );
    return pane;
  }
  const v = m.view;
  if (!v) {
    pane.append(h("div", { class: "empty", text: "Loading…" }));
    return pane;
  }
  const s = v.summary;
  append(pane,
    h("header", { class: "detail-head" },
      h("div", { class: "title-row" },
        badge(s.state, { testid: "cycle-state" }),
        h("h1", { class: "trigger", testid: "cycle-trigger", text: s.trigger }),
      ),
      h("div", { class: "facts small muted" },
        h("span", {}, "id ", h("code", { class: "selectable", testid: "cycle-id", text: s.id })),
        h("span", { title: `ended ${formatFullTime(s.ended)}`, text: `started ${formatFullTime(s.started)}` }),
        h("span", { text: `took ${formatDuration(s.started, s.ended)}` }),
        h("span", { text: `${s.objects} object${s.objects === 1 ? "" : "s"}` }),
      ),
      v.resumed_as
        ? h("div", { class: "small" }, s.state === "superseded" ? "Resumed, failed again as " : "Resumed as ", linkButton(v.resumed_as, () => a.select(v.resumed_as ?? ""), { class: "mono", testid: "resumed-as" }))
        : null,
    ),
    outcomeLine(m.outcome, a),
    s.error ? h("pre", { class: "cycle-error message error", testid: "cycle-error", text: s.error }) : null,
    s.state === "suspended" ? suspendedActions(m, a) : null,
    objects(v, a),
  );
  if (v.dialogue) {
    pane.append(dialogueSection(v.dialogue, m.dialogueDraft, m.busy !== null, { step: a.stepThought, resume: a.resumeDialogue }));
  }
  if (v.forge) pane.append(forgeSection(v.forge, s.state === "suspended", m.forgeDraft, m.busy !== null, { resume: a.resumeForge }));
  const program = programSection(v, m.draft, m.step, { step: a.step, rerender: a.rerender, openObject: a.openObject });
  if (program) pane.append(program);
  pane.append(trace(v.steps));
  return pane;
}

function outcomeLine(o: Outcome | null, a: DetailActions): HTMLElement | null {
  if (!o) return null;
  return h("div", { class: `message ${o.kind}`, testid: o.testid, attrs: { role: o.kind === "error" ? "alert" : "status" } },
    o.text,
    o.link ? " " : null,
    o.link ? linkButton(o.link.label, () => a.select(o.link?.cycle ?? ""), { class: "mono" }) : null,
  );
}

function suspendedActions(m: DetailModel, a: DetailActions): HTMLElement {
  const busy = m.busy !== null;
  return h("div", { class: "suspended-actions panel" },
    h("div", { class: "explain" },
      h("strong", { text: "Suspended. " }),
      m.view?.dialogue
        ? "Nothing was recorded. Resume goes on from where it broke off (or rewrite a turn below and resume from it); Discard leaves it aborted for good."
        : m.view?.forge
        ? "Nothing was installed. Resume gives the forge its attempts again (or edit an attempt's code below and resume from it); Discard leaves it aborted for good."
        : "Nothing it staged was written. Resume runs its program (with your edits) as a new cycle; Discard leaves it aborted for good.",
    ),
    h("div", { class: "buttons" },
      button(m.busy === "resume" ? "Resuming…" : "Resume", a.resume, {
        class: "primary",
        testid: "resume",
        attrs: busy ? { disabled: "" } : {},
      }),
      button(m.busy === "discard" ? "Discarding…" : "Discard", a.discard, {
        class: "danger",
        testid: "discard",
        attrs: busy ? { disabled: "" } : {},
      }),
    ),
  );
}

function objects(v: CycleView, a: DetailActions): HTMLElement {
  return h("section", { class: "section" },
    h("h2", { text: `Objects (${v.objects.length})` }),
    v.objects.length === 0
      ? h("div", { class: "empty", text: "It touched no objects." })
      : h("ul", { class: "objects", testid: "cycle-objects" },
          ...v.objects.map((o) =>
            h("li", {},
              linkButton(o.name || o.id, () => a.openObject(o.id), {
                testid: `cycle-object-${o.id}`,
                title: `Open ${o.name || o.id} in an Inspector`,
              }),
            ),
          ),
        ),
  );
}

function trace(steps: TraceStep[]): HTMLElement {
  return h("section", { class: "section" },
    h("h2", { text: `Recorded steps (${steps.length})`, title: "What the cycle staged, in order (for an aborted cycle: up to the failure)" }),
    steps.length === 0
      ? h("div", { class: "empty", text: "No steps recorded." })
      : h("ol", { class: "trace", testid: "cycle-steps" },
          ...steps.map((st, i) => {
            const long = Array.from(st.detail).length > 90;
            return h("li", { testid: `trace-step-${i}` },
              h("span", { class: "op-name mono", text: st.op }),
              long
                ? h("details", {}, h("summary", { class: "mono", text: excerpt(st.detail, 90) }), h("pre", { text: prettyJson(st.detail) }))
                : h("code", { class: "detail", text: st.detail }),
            );
          }),
        ),
  );
}
