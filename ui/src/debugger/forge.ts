// A forge cycle in the Debugger: what was asked, then each attempt one by one — BRICK's
// prompt and reply, the code and test it gave, the sandbox runs, the verdict. While the cycle
// is suspended, an attempt's code can be edited and the forge resumed from it.

import type { Attempt, ForgeTask, RunReport } from "../bindings";
import { autosize, button, h, on } from "../common/dom";

/** The user's edits of attempts' code, by attempt number. */
export type ForgeDraft = Map<number, string>;

export type ForgeActions = {
  /** Resume from `attempt` with its code as edited (`null`: let BRICK try again). */
  resume(attempt: number | null): void;
};

export function forgeSection(task: ForgeTask, suspended: boolean, draft: ForgeDraft, busy: boolean, a: ForgeActions): HTMLElement {
  return h("section", { class: "section forge", testid: "forge" },
    h("h2", { text: `Forge: ${task.receiver_name}.${task.selector}` }),
    h("p", { class: "small" },
      h("span", { text: task.description }),
      h("span", { class: "muted", text: ` — by ${task.persona} (${task.model})` }),
    ),
    task.args === null ? null : h("p", { class: "small mono", text: `args: ${JSON.stringify(task.args)}` }),
    task.attempts.length === 0
      ? h("div", { class: "empty", text: "No attempt got as far as a reply." })
      : h("ol", { class: "attempts" }, ...task.attempts.map((at) => attempt(at, suspended, draft, busy, a))),
  );
}

function attempt(at: Attempt, suspended: boolean, draft: ForgeDraft, busy: boolean, a: ForgeActions): HTMLElement {
  const verdict = at.passed ? "passed" : "failed";
  const li = h("li", { class: `attempt ${verdict}`, testid: `attempt-${at.n}` },
    h("div", { class: "attempt-head" },
      h("strong", { text: `Attempt ${at.n}` }),
      h("span", { class: `badge ${at.passed ? "committed" : "aborted"}`, testid: `attempt-verdict-${at.n}`, text: verdict }),
      at.edited ? h("span", { class: "muted small", text: "edited by you" }) : null,
    ),
    at.why ? h("pre", { class: "message error small", testid: `attempt-why-${at.n}`, text: at.why }) : null,
  );
  if (at.prompt) li.append(fold("Prompt to the model", at.prompt));
  if (at.reply) li.append(fold("Reply", at.reply));
  if (at.code !== null) li.append(code(at, suspended, draft, busy, a));
  if (at.test !== null) li.append(fold("test.py", at.test, true));
  for (const r of at.runs) li.append(run(r));
  return li;
}

function code(at: Attempt, suspended: boolean, draft: ForgeDraft, busy: boolean, a: ForgeActions): HTMLElement {
  const original = at.code ?? "";
  if (!suspended) return fold("tool.py", original, true);
  const ta = h("textarea", {
    class: "code-edit mono",
    testid: `attempt-code-${at.n}`,
    attrs: { spellcheck: "false", "aria-label": `Attempt ${at.n}'s tool.py` },
  });
  ta.value = draft.get(at.n) ?? original;
  autosize(ta, 20);
  on(ta, "input", (e) => {
    const t = e.currentTarget as HTMLTextAreaElement;
    autosize(t, 20);
    if (t.value === original) draft.delete(at.n);
    else draft.set(at.n, t.value);
  });
  return h("div", { class: "attempt-code" },
    h("div", { class: "small muted", text: "tool.py — edit it, then resume from this attempt" }),
    ta,
    button(busy ? "Resuming…" : `Resume from attempt ${at.n}`, () => a.resume(at.n), {
      class: "primary",
      testid: `resume-attempt-${at.n}`,
      attrs: busy ? { disabled: "" } : {},
    }),
  );
}

function run(r: RunReport): HTMLElement {
  const head = `${r.what === "test" ? "Test run" : "Method run"}: ${r.cause}${r.exit_code === null ? "" : `, exit ${r.exit_code}`}, ${r.duration_ms === null ? "?" : Math.round(r.duration_ms)} ms`;
  return h("details", { class: "run", testid: "sandbox-run" },
    h("summary", { text: head }),
    r.stdout ? h("pre", { class: "small", text: `stdout:\n${r.stdout}` }) : null,
    r.stderr ? h("pre", { class: "small", text: `stderr:\n${r.stderr}` }) : null,
  );
}

function fold(title: string, text: string, open = false): HTMLElement {
  const d = h("details", { class: "fold" }, h("summary", { text: title }), h("pre", { class: "mono small", text }));
  if (open) d.open = true;
  return d;
}
