// The Playground window: Smalltalk's Workspace for Telos. The user writes message sends —
// `receiver selector [args]`, one per line — and evaluates them one by one, each recorded as a
// cycle; each answer shows under its send. A message nobody understands is forged on the way:
// BRICK writing attempt n of N and the sandbox testing it show live, the new method's answer
// appears when it passes, and a failed forge links to its suspended cycle in the Debugger.
// Below, a box for hypervector queries over a persona's symbols (symbols.ts).
// URL: playground.html or playground.html?receiver=NAME.

import "../theme.css";
import "./playground.css";

import { commands, events, type Answered, type ForgeProgress } from "../bindings";
import { call } from "../common/cycles";
import { button, fill, h, linkButton } from "../common/dom";
import { concerns, progressLine, sends } from "./model";
import { symbolsPanel } from "./symbols";

type Entry = {
  line: string;
  /** A forge started elsewhere (Teach… on a halo, the CLI), followed here. */
  watched: boolean;
  /** A watched forge's suspended cycle. */
  suspended: string | null;
  receiver: string | null;
  selector: string | null;
  progress: string[];
  answer: Answered | null;
  error: string | null;
  running: boolean;
  /** The forge this entry follows has passed or been suspended: later events are another's. */
  forgeEnded?: boolean;
};

const app = document.getElementById("app") ?? document.body;
const entries: Entry[] = [];
const symbols = symbolsPanel();
let running = false;

const editor = h("textarea", {
  class: "pg-editor",
  testid: "playground-editor",
  attrs: { spellcheck: "false", "aria-label": "Message sends, one per line", placeholder: 'ALFRED model\nabacus total [3, 4]' },
}) as HTMLTextAreaElement;
const asked = new URLSearchParams(location.search).get("receiver");
if (asked) editor.value = `${quoted(asked)} `;

function quoted(name: string): string {
  return /\s/.test(name) ? `"${name}"` : name;
}

/** The receiver and selector a line names, as the core reads them (for matching progress). */
function split(line: string): { receiver: string | null; selector: string | null } {
  const m = /^\s*(?:"([^"]*)"|(\S+))\s+(\S+)/.exec(line);
  return m ? { receiver: m[1] ?? m[2] ?? null, selector: m[3] ?? null } : { receiver: null, selector: null };
}

async function evaluateAll(): Promise<void> {
  if (running) return;
  const lines = sends(editor.value);
  if (lines.length === 0) return;
  running = true;
  render();
  for (const line of lines) {
    const entry: Entry = { line, watched: false, suspended: null, ...split(line), progress: [], answer: null, error: null, running: true };
    entries.unshift(entry);
    render();
    const r = await call(() => commands.evaluate(line));
    entry.running = false;
    if (r.ok) {
      entry.answer = r.data;
      entry.error = r.data.error;
    } else {
      entry.error = r.message;
    }
    render();
  }
  running = false;
  render();
}

function onProgress(p: ForgeProgress): void {
  const about = (e: Entry) => e.receiver !== null && e.selector !== null && concerns(p, e.receiver, e.selector, null);
  // A forge's last events may arrive after the answer to the line that started it (events and
  // replies come by different ways): they belong to that line's entry, not to a new one.
  let entry =
    entries.find((e) => e.running && about(e)) ??
    entries.find((e) => !e.watched && about(e) && e.progress.length > 0 && !e.forgeEnded);
  if (!entry) {
    // A forge this window did not start: followed as an entry of its own.
    entry = {
      line: `forge ${quoted(p.receiver)} ${p.selector}`,
      watched: true,
      suspended: null,
      receiver: p.receiver,
      selector: p.selector,
      progress: [],
      answer: null,
      error: null,
      running: true,
    };
    entries.unshift(entry);
  }
  entry.progress.push(progressLine(p));
  if (p.type === "passed" || p.type === "suspended") entry.forgeEnded = true;
  if (entry.watched && (p.type === "passed" || p.type === "suspended")) {
    entry.running = false;
    if (p.type === "suspended") {
      entry.error = p.why;
      entry.suspended = p.cycle;
    }
  }
  render();
}

function answerText(a: Answered): string {
  return a.value === undefined || a.value === null ? "nil" : JSON.stringify(a.value, null, 2);
}

function entryView(e: Entry): HTMLElement {
  const failed = !e.running && e.error !== null;
  const suspended = e.answer?.suspended ?? e.suspended;
  return h(
    "li",
    { class: `pg-entry${failed ? " failed" : ""}`, testid: "playground-entry" },
    h("div", { class: "send", text: e.line }),
    e.progress.length > 0 && h("ul", { class: "progress", testid: "forge-progress" }, ...e.progress.map((p) => h("li", { text: p }))),
    e.running
      ? h("div", { class: "answer muted", text: "…" })
      : h("div", {
          class: "answer",
          testid: "playground-answer",
          text: failed ? (e.error ?? "") : e.answer ? answerText(e.answer) : e.watched ? "installed" : "",
        }),
    !e.running &&
      h(
        "div",
        { class: "meta" },
        e.answer && h("span", { text: `cycle ${e.answer.cycle} · ${Math.round(e.answer.ms ?? 0)} ms` }),
        suspended &&
          linkButton("Open the suspended forge in the Debugger", () => void commands.openDebugger(suspended), {
            testid: "open-suspended-forge",
          }),
      ),
  );
}

function render(): void {
  fill(
    app,
    h(
      "header",
      { class: "pg-head" },
      h("h1", { text: "Playground" }),
      h("span", { class: "hint", text: "receiver selector [JSON args] — one send per line; Ctrl+Enter evaluates" }),
    ),
    editor,
    h(
      "div",
      { class: "pg-actions" },
      button(running ? "Evaluating…" : "Evaluate", () => void evaluateAll(), {
        class: "primary",
        testid: "playground-evaluate",
        attrs: running ? { disabled: "" } : {},
      }),
      h("span", { class: "spacer" }),
      entries.length > 0 &&
        button("Clear", () => {
          entries.splice(0, entries.length, ...entries.filter((e) => e.running));
          render();
        }),
    ),
    h("ol", { class: "pg-transcript", testid: "playground-transcript" }, ...entries.map(entryView)),
    symbols,
  );
}

editor.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
    ev.preventDefault();
    void evaluateAll();
  }
});
void events.forgeProgressed.listen((e) => onProgress(e.payload));
void events.addressPlayground.listen((e) => {
  editor.value = `${editor.value.trimEnd()}${editor.value.trim() ? "\n" : ""}${quoted(e.payload.receiver)} `;
  editor.focus();
});
render();
editor.focus();
document.body.dataset.ready = "true";
