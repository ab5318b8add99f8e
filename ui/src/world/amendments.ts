// Codex amendments waiting for a human: a toolbar button with their count, and a dialog
// that shows each one's changes, whole, with Approve and Reject.

import type { Amendment, CodexReport } from "../bindings";

/** A field's value as a person reads it: a JSON string's text, anything else as JSON. */
function readable(json: string): string {
  try {
    const v: unknown = JSON.parse(json);
    return typeof v === "string" ? v : json;
  } catch {
    return json;
  }
}

/**
 * Where two texts differ: what they share before and after, and the part of each in between
 * (a one-letter edit deep in a long prompt is the `was`/`now` pair, however far in it is).
 */
export interface Span {
  before: string;
  was: string;
  now: string;
  after: string;
}

export function changedSpan(from: string, to: string): Span {
  const a = [...from];
  const b = [...to];
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  let s = 0;
  while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  return {
    before: a.slice(0, p).join(""),
    was: a.slice(p, a.length - s).join(""),
    now: b.slice(p, b.length - s).join(""),
    after: a.slice(a.length - s).join(""),
  };
}

/** One changed field, whole: short values on one line, long ones in full with the change marked. */
export interface Shown {
  field: string;
  /** `priority: 1 → 2`, when both values are short and one line each; else null. */
  line: string | null;
  span: Span;
}

const INLINE = 60;

/** Every changed field of `a`, nothing cut: the whole value before and after. */
export function describeChanges(a: Amendment): Shown[] {
  return a.changes.map((c) => {
    const from = readable(c.from);
    const to = readable(c.to);
    const short = (t: string) => t.length <= INLINE && !t.includes("\n");
    return {
      field: c.field,
      line: short(from) && short(to) ? `${c.field}: ${c.from} → ${c.to}` : null,
      span: changedSpan(from, to),
    };
  });
}

/** A value in full, the part that changed wrapped in `mark` (del or ins). */
function fullValue(label: string, before: string, changed: string, after: string, mark: "del" | "ins"): HTMLElement {
  const box = document.createElement("div");
  box.className = "value";
  const head = document.createElement("span");
  head.className = "label";
  head.textContent = label;
  const text = document.createElement("pre");
  const m = document.createElement(mark);
  m.textContent = changed;
  text.append(before, m, after);
  box.append(head, text);
  return box;
}

function changeItem(c: Shown): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.field = c.field;
  if (c.line) {
    li.textContent = c.line;
    return li;
  }
  const name = document.createElement("span");
  name.textContent = `${c.field}:`;
  const { before, was, now, after } = c.span;
  li.append(name, fullValue("was", before, was, after, "del"), fullValue("now", before, now, after, "ins"));
  return li;
}

/** The problems of a report not yet told, as `file:line: message`; remembers them in `told`. */
export function newProblems(report: CodexReport, told: Set<string>): string[] {
  const out: string[] = [];
  for (const p of report.problems) {
    const text = `${p.file}:${p.line}: ${p.message}`;
    if (!told.has(text)) out.push(text);
  }
  told.clear();
  for (const p of report.problems) told.add(`${p.file}:${p.line}: ${p.message}`);
  return out;
}

/** Shows the pending amendments; `decide` approves or rejects one and resolves when done. */
export function showAmendments(
  pending: Amendment[],
  decide: (id: string, approve: boolean) => Promise<void>,
): void {
  document.querySelector(".backdrop.amendments")?.remove();
  const backdrop = document.createElement("div");
  backdrop.className = "backdrop amendments";
  const dialog = document.createElement("div");
  dialog.className = "dialog";
  dialog.dataset.testid = "amendments";
  const title = document.createElement("p");
  title.textContent = pending.length
    ? "Codex amendments waiting for you. A persona's codex changes only when you approve."
    : "No amendments are waiting.";
  dialog.append(title);
  for (const a of pending) {
    const box = document.createElement("div");
    box.className = "amendment";
    box.dataset.testid = `amendment-${a.persona}`;
    const head = document.createElement("strong");
    head.textContent = a.persona;
    const list = document.createElement("ul");
    for (const c of describeChanges(a)) list.append(changeItem(c));
    const row = document.createElement("div");
    row.className = "choices";
    const act = (approve: boolean) => async () => {
      row.querySelectorAll("button").forEach((b) => (b.disabled = true));
      await decide(a.id, approve);
      box.remove();
    };
    const yes = document.createElement("button");
    yes.textContent = "Approve";
    yes.dataset.testid = `approve-${a.persona}`;
    yes.addEventListener("click", () => void act(true)());
    const no = document.createElement("button");
    no.textContent = "Reject";
    no.className = "secondary";
    no.dataset.testid = `reject-${a.persona}`;
    no.addEventListener("click", () => void act(false)());
    row.append(yes, no);
    box.append(head, list, row);
    dialog.append(box);
  }
  const close = document.createElement("button");
  close.textContent = "Close";
  close.className = "secondary";
  close.addEventListener("click", () => backdrop.remove());
  dialog.append(close);
  backdrop.append(dialog);
  backdrop.addEventListener("keydown", (e) => {
    if (e.key === "Escape") backdrop.remove();
  });
  document.body.append(backdrop);
}
