// A cycle's program in the Debugger: numbered operations (editable while suspended), the step
// cursor, and what a dry run stages at the cursor.

import type { CycleView, StagedView, StepState } from "../bindings";
import { autosize, button, h, on } from "../common/dom";
import { checkJson, excerpt, prettyJson } from "../common/json";
import { cursorLabel, describeOp, isEdited, stepTargets, type ProgramEdits } from "../common/program";
import { parentNames, stagedModel, stagedSummary, type StagedModel } from "../common/staged";

/** The user's draft of a suspended program (kept per cycle across reloads). */
export type Draft = { texts: Map<number, string>; removed: Set<number>; errors: Map<number, string> };

export const emptyDraft = (): Draft => ({ texts: new Map(), removed: new Set(), errors: new Map() });

export type StepCursor = {
  cursor: number;
  state: StepState | null;
  error: string | null;
  busy: boolean;
};

export type ProgramActions = {
  step(to: number): void;
  rerender(): void;
  openObject(id: string): void;
};

export function programSection(view: CycleView, draft: Draft, step: StepCursor, actions: ProgramActions): HTMLElement | null {
  const ops = view.program;
  if (!ops) return null;
  const editable = view.summary.state === "suspended";
  const edits: ProgramEdits = draft;
  const anyEdits = ops.some((_, i) => isEdited(ops, edits, i));
  const failedAt = view.failed_at;
  return h("section", { class: "section program", testid: "program" },
    h("div", { class: "section-head" },
      h("h2", { text: `Program (${ops.length} operation${ops.length === 1 ? "" : "s"})` }),
      editable && anyEdits
        ? button("Revert edits", () => {
            draft.texts.clear();
            draft.removed.clear();
            draft.errors.clear();
            actions.rerender();
          }, { class: "small-button", testid: "revert-edits" })
        : null,
    ),
    editable
      ? h("p", { class: "hint muted small", text: "Fix an operation's JSON (or remove it), then Resume to run the program as a new cycle." })
      : null,
    h("ol", { class: "ops" }, ...ops.map((op, i) => opRow(op, i, { editable, draft, ops, failedAt, cursor: step.cursor, stepFailed: !!step.state?.error, rerender: actions.rerender }))),
    failedAt !== null && failedAt >= ops.length
      ? h("div", { class: "note", text: "Every operation applied; the commit itself failed." })
      : null,
    stepper(ops.length, failedAt, step, actions, anyEdits),
    stagedPane(step, actions),
  );
}

type OpContext = {
  editable: boolean;
  draft: Draft;
  ops: string[];
  failedAt: number | null;
  cursor: number;
  stepFailed: boolean;
  rerender(): void;
};

function opRow(op: string, i: number, c: OpContext): HTMLElement {
  const failed = c.failedAt === i;
  const applied = i < c.cursor;
  const current = i === c.cursor - 1;
  const removed = c.draft.removed.has(i);
  const text = c.draft.texts.get(i) ?? op;
  const classes = ["op", failed && "failed", applied && "applied", current && "current", current && c.stepFailed && "step-failed", removed && "removed", isEdited(c.ops, c.draft, i) && "edited"];
  const row = h("li", {
    class: classes.filter(Boolean).join(" "),
    testid: `program-op-${i}`,
    data: { failed: String(failed), applied: String(applied), edited: String(isEdited(c.ops, c.draft, i)) },
  });
  const head = h("div", { class: "op-head" },
    h("span", { class: "op-index", text: String(i + 1) }),
    h("span", { class: "op-desc", text: describeOp(text) }),
    failed ? h("span", { class: "badge badge-aborted", text: "failed here" }) : null,
    current ? h("span", { class: "cursor-mark", text: "◀ cursor" }) : null,
  );
  row.append(head);
  if (!c.editable) {
    row.append(h("pre", { class: "op-json", text: op }));
    return row;
  }
  const ta = h("textarea", {
    class: c.draft.errors.has(i) ? "invalid" : "",
    testid: `program-edit-${i}`,
    attrs: { spellcheck: "false", "aria-label": `Operation ${i + 1} (JSON)` },
  });
  ta.value = text;
  ta.disabled = removed;
  autosize(ta, 12);
  const err = h("div", { class: "field-error", testid: `program-error-${i}`, attrs: { role: "alert" }, text: c.draft.errors.get(i) ?? "" });
  err.hidden = !c.draft.errors.has(i);
  on(ta, "input", (e) => {
    // The live element, which may be an earlier render's (see `fill`): find things from it.
    const t = e.currentTarget as HTMLTextAreaElement;
    const li = t.closest("li");
    const errEl = li?.querySelector<HTMLElement>(`[data-testid="program-error-${i}"]`);
    autosize(t, 12);
    if (t.value === op) c.draft.texts.delete(i);
    else c.draft.texts.set(i, t.value);
    // Check as the user types, without redrawing (which could move the caret).
    const problem = checkJson(t.value);
    if (problem) c.draft.errors.set(i, problem.message);
    else c.draft.errors.delete(i);
    if (errEl) {
      errEl.textContent = problem?.message ?? "";
      errEl.hidden = !problem;
    }
    t.classList.toggle("invalid", !!problem);
    const edited = isEdited(c.ops, c.draft, i);
    li?.classList.toggle("edited", edited);
    if (li) li.dataset.edited = String(edited);
  });
  row.append(
    h("div", { class: "op-edit" },
      ta,
      button(removed ? "Restore" : "Remove", () => {
        if (removed) c.draft.removed.delete(i);
        else c.draft.removed.add(i);
        c.draft.errors.delete(i);
        c.rerender();
      }, { class: "small-button", testid: `program-remove-${i}`, title: removed ? "Put this operation back" : "Leave this operation out when resuming" }),
    ),
    err,
  );
  return row;
}

function stepper(of: number, failedAt: number | null, step: StepCursor, actions: ProgramActions, anyEdits: boolean): HTMLElement {
  const t = stepTargets(step.cursor, of, failedAt);
  const b = (label: string, to: number, testid: string, title: string) =>
    button(label, () => actions.step(to), {
      testid,
      title,
      attrs: step.busy || to === step.cursor ? { disabled: "" } : {},
    });
  return h("div", { class: "stepper panel" },
    h("div", { class: "step-buttons" },
      b("⏮ Start", t.start, "step-start", "Before the first operation"),
      b("◀ Back", t.back, "step-back", "Undo the last applied operation"),
      b("Step ▶", t.forward, "step-forward", "Apply the next operation"),
      failedAt === null
        ? b("Run to end", t.toFailure, "step-run", "Apply every operation")
        : b("Run to failure", t.toFailure, "step-run", `Apply operations up to and including the failing one (${failedAt + 1})`),
      h("span", { class: "cursor-label", testid: "step-cursor", data: { step: String(step.cursor) }, text: cursorLabel(step.cursor, of) }),
      step.busy ? h("span", { class: "muted small", text: "running…" }) : null,
    ),
    h("div", { class: "muted small dry-run", text: "Dry run against the image as it is now: stepping stages the operations in a throwaway cycle and writes nothing." }),
    anyEdits ? h("div", { class: "note", text: "Stepping dry-runs the program with your edits (while they are valid JSON); Resume commits it." }) : null,
  );
}

function stagedPane(step: StepCursor, actions: ProgramActions): HTMLElement {
  const s = step.state;
  const pane = h("div", { class: "staged", testid: "staged-view", data: { step: String(s?.step ?? step.cursor) } });
  if (step.error) {
    pane.append(h("div", { class: "message error", testid: "step-call-error", text: `Could not step: ${step.error}` }));
    return pane;
  }
  if (!s) {
    pane.append(h("div", { class: "empty", text: step.busy ? "Staging…" : "Nothing staged yet." }));
    return pane;
  }
  if (s.error) {
    pane.append(h("div", { class: "message error step-error", testid: "step-error" },
      h("strong", { text: "This step fails: " }),
      s.error,
    ));
  }
  pane.append(h("h3", { class: "staged-title" }, `Staged ${s.step === 0 ? "before any operation" : `after ${s.step} of ${s.of}`}: `, h("span", { class: "muted", text: stagedSummary(s.staged) })));
  for (const v of s.staged) pane.append(stagedObject(stagedModel(v), v, actions));
  return pane;
}

function stagedObject(m: StagedModel, v: StagedView, actions: ProgramActions): HTMLElement {
  const name =
    m.kind === "created"
      ? h("span", { class: "obj-name", text: m.name })
      : button(m.name, () => actions.openObject(m.id), { class: "link obj-name", title: `Inspect ${m.name}` });
  const rows = m.slots.map((r) =>
    h("tr", { class: `slot-change ${r.change}`, testid: `staged-slot-${m.id}-${r.name}` },
      h("td", { class: "mono", text: r.name }),
      h("td", { class: "before" }, jsonCell(r.before)),
      h("td", { class: "arrow muted", text: "→" }),
      h("td", { class: "after" }, jsonCell(r.after)),
    ),
  );
  return h("article", { class: `staged-object panel ${m.kind}`, testid: `staged-${m.id}`, data: { kind: m.kind } },
    h("header", {}, h("span", { class: `badge badge-${m.kind}`, text: m.kind }), name, h("code", { class: "muted small selectable", text: m.id })),
    rows.length
      ? h("table", { class: "slot-changes" }, h("tbody", {}, ...rows))
      : m.kind === "updated" && !m.parents
        ? h("div", { class: "muted small", text: "No slot changes (its methods or name changed)." })
        : null,
    m.parents
      ? h("div", { class: "parents-change small" },
          h("span", { class: "muted", text: "parents " }),
          h("span", { class: "before", text: parentNames(v.parents_before) }),
          h("span", { class: "muted", text: " → " }),
          h("span", { class: "after", text: parentNames(v.parents_after) }),
        )
      : null,
  );
}

/** A slot value before or after: "absent", a short value, or an expandable excerpt. */
function jsonCell(json: string | null): HTMLElement {
  if (json === null) return h("span", { class: "absent muted", text: "absent" });
  if (Array.from(json).length <= 80) return h("code", { class: "json", text: json });
  return h("details", {},
    h("summary", { class: "mono", text: excerpt(json, 80) }),
    h("pre", { text: prettyJson(json) }),
  );
}
