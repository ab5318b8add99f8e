// Codex amendments waiting for a human: a toolbar button with their count, and a dialog
// that shows each one's changes with Approve and Reject.

import type { Amendment, CodexReport } from "../bindings";

/** One line per changed field: `model: "mistral:7b" → "mistral:7b-instruct"`. */
export function describeChanges(a: Amendment): string[] {
  return a.changes.map((c) => `${c.field}: ${shorten(c.from)} → ${shorten(c.to)}`);
}

function shorten(json: string): string {
  return json.length > 80 ? `${json.slice(0, 77)}…` : json;
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
    for (const line of describeChanges(a)) {
      const li = document.createElement("li");
      li.textContent = line;
      list.append(li);
    }
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
