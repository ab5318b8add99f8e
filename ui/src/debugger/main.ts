// The Debugger window: cycle history on the left, the selected cycle on the right — its
// program stepped as a dry run and, when suspended, edited and resumed or discarded.
// URL: debugger.html or debugger.html?cycle=CYCLE_ID.

import "../theme.css";
import "./debugger.css";

import { Channel } from "@tauri-apps/api/core";
import { commands, events, type CycleSummary, type DialogueEvent } from "../bindings";
import { call, initialCycle, newestFirst, type CycleFilter } from "../common/cycles";
import { autosizeAll, fill, h, markFocus, restoreFocus } from "../common/dom";
import { programText } from "../common/program";
import { detailPane, type DetailModel, type Outcome } from "./detail";
import { listPane } from "./list";
import type { ForgeDraft } from "./forge";
import { emptyDialogueDraft, type DialogueDraft } from "./dialogue";
import { emptyDraft, type Draft } from "./program";

const LIMIT = 200;

const list = {
  cycles: [] as CycleSummary[],
  filter: "all" as CycleFilter,
  error: null as string | null,
  loaded: false,
};
let detail: DetailModel | null = null;
/** Program drafts per cycle, so switching cycles never loses an edit. */
const drafts = new Map<string, Draft>();
/** Forge code edits per cycle, likewise. */
const forgeDrafts = new Map<string, ForgeDraft>();

/** Dialogue steppers and rewritten turns per cycle. */
const dialogueDrafts = new Map<string, DialogueDraft>();

function dialogueDraftFor(id: string): DialogueDraft {
  let d = dialogueDrafts.get(id);
  if (!d) {
    d = emptyDialogueDraft();
    dialogueDrafts.set(id, d);
  }
  return d;
}

function forgeDraftFor(id: string): ForgeDraft {
  let d = forgeDrafts.get(id);
  if (!d) {
    d = new Map();
    forgeDrafts.set(id, d);
  }
  return d;
}

const listEl = h("nav", { class: "list-pane", attrs: { "aria-label": "Cycles" } });
const detailEl = h("main", { class: "detail-pane" });
let token = 0; // the current selection; late answers for an older one are dropped
let stepToken = 0;

function draftFor(id: string): Draft {
  let d = drafts.get(id);
  if (!d) {
    d = emptyDraft();
    drafts.set(id, d);
  }
  return d;
}

function render(): void {
  const focus = markFocus();
  const scroll = [listEl.scrollTop, detailEl.scrollTop] as const;
  fill(listEl, ...listPane({ ...list, selected: detail?.id ?? null }, {
    setFilter: (f) => {
      list.filter = f;
      render();
    },
    select: (id) => void select(id),
    retry: () => void refreshList(),
  }));
  if (detail) {
    fill(detailEl, detailPane(detail, {
      step: (to) => void runStep(to),
      rerender: render,
      openObject: (id) => void openObject(id),
      select: (id) => void select(id),
      resume: () => void resume(),
      resumeForge: (attempt) => void resumeForge(attempt),
      stepThought: (to) => {
        if (!detail) return;
        const n = detail.view?.dialogue?.thoughts.length ?? 0;
        detail.dialogueDraft.cursor = Math.max(0, Math.min(to, n - 1));
        render();
      },
      resumeDialogue: (turn, text) => void resumeDialogue(turn, text),
      discard: () => void discard(),
      retry: () => void select(detail?.id ?? ""),
    }));
  } else {
    fill(detailEl, h("div", { class: "empty pick", text: list.loaded ? "Select a cycle on the left." : "Loading…" }));
  }
  autosizeAll(detailEl);
  [listEl.scrollTop, detailEl.scrollTop] = scroll;
  restoreFocus(focus);
}

async function refreshList(): Promise<void> {
  const r = await call(() => commands.cycles(LIMIT));
  list.loaded = true;
  if (r.ok) {
    list.cycles = newestFirst(r.data);
    list.error = null;
  } else {
    list.error = r.message;
  }
}

/** Shows cycle `id` on the right (with `outcome` as a banner). */
async function select(id: string, outcome: Outcome | null = null): Promise<void> {
  if (!id) return;
  const mine = ++token;
  const same = detail?.id === id;
  detail = {
    id,
    view: same ? (detail?.view ?? null) : null,
    loadError: null,
    draft: draftFor(id),
    forgeDraft: forgeDraftFor(id),
    dialogueDraft: dialogueDraftFor(id),
    step: same && detail ? detail.step : { cursor: 0, state: null, error: null, busy: false },
    busy: null,
    outcome,
  };
  // Keep the list showing the selected cycle.
  const summary = list.cycles.find((c) => c.id === id);
  if (list.filter === "suspended" && summary && summary.state !== "suspended") list.filter = "all";
  history.replaceState(null, "", `?cycle=${encodeURIComponent(id)}`);
  render();
  await loadDetail(mine);
}

async function loadDetail(mine: number): Promise<void> {
  const d = detail;
  if (!d) return;
  const r = await call(() => commands.cycle(d.id));
  if (mine !== token) return;
  if (!r.ok) {
    d.loadError = r.message;
    render();
    return;
  }
  d.view = r.data;
  d.loadError = null;
  // The draft only means something while the cycle can still be resumed.
  if (r.data.summary.state !== "suspended") {
    drafts.delete(d.id);
    d.draft = emptyDraft();
  }
  render();
  if (r.data.program) await runStep(d.step.cursor);
}

async function runStep(to: number): Promise<void> {
  const d = detail;
  if (!d?.view?.program) return;
  const mine = ++stepToken;
  d.step.cursor = Math.max(0, Math.min(to, d.view.program.length));
  d.step.busy = true;
  render();
  // Step the program as the user has edited it; while an edit is not valid JSON, the recorded one.
  const edited = programText(d.view.program, d.draft);
  const r = await call(() => commands.cycleStep(d.id, d.step.cursor, edited.ok ? edited.text : null));
  if (mine !== stepToken || detail !== d) return;
  d.step.busy = false;
  if (r.ok) {
    d.step.state = r.data;
    d.step.error = null;
  } else {
    d.step.state = null;
    d.step.error = r.message;
  }
  render();
}

async function resume(): Promise<void> {
  if (detail?.view?.forge) return resumeForge(null);
  const d = detail;
  if (d?.view?.dialogue && !d.view.program) return resumeAsItWas(d);
  const ops = d?.view?.program;
  if (!d || !ops || d.busy) return;
  const program = programText(ops, d.draft);
  if (!program.ok) {
    d.draft.errors.set(program.index, program.message);
    d.outcome = { kind: "error", testid: "resume-error", text: `Not resumed: ${program.message}` };
    render();
    return;
  }
  d.busy = "resume";
  d.outcome = null;
  render();
  const r = await call(() => commands.resume(d.id, program.text));
  if (detail !== d) return;
  d.busy = null;
  if (!r.ok) {
    d.outcome = { kind: "error", testid: "resume-error", text: `Resume failed: ${r.message}` };
    await refreshList(); // a failed resume is recorded as a new suspended attempt
    render();
    return;
  }
  drafts.delete(d.id);
  await refreshList();
  await select(r.data.id, {
    kind: "ok",
    testid: "resume-result",
    text: `Resumed ${r.data.state === "committed" ? "and committed" : `(${r.data.state})`} as this cycle, from`,
    link: { label: d.id, cycle: d.id },
  });
}

/** A suspended dialogue goes on from where it broke off. */
async function resumeAsItWas(d: DetailModel): Promise<void> {
  if (d.busy) return;
  d.busy = "resume";
  d.outcome = { kind: "ok", testid: "resume-progress", text: "Resuming the dialogue…" };
  render();
  const r = await call(() => commands.resume(d.id, null));
  if (detail !== d) return;
  d.busy = null;
  await refreshList();
  if (!r.ok) {
    d.outcome = { kind: "error", testid: "resume-error", text: `Resume failed: ${r.message}` };
    render();
    return;
  }
  await select(r.data.id, {
    kind: r.data.state === "committed" ? "ok" : "error",
    testid: "resume-result",
    text: `The dialogue went on (${r.data.state}) as this cycle, from`,
    link: { label: d.id, cycle: d.id },
  });
}

/** Resumes a dialogue from turn `turn` rewritten as `text`; its turns stream into the banner. */
async function resumeDialogue(turn: number, text: string): Promise<void> {
  const d = detail;
  if (!d || d.busy) return;
  d.busy = "resume";
  d.outcome = { kind: "ok", testid: "resume-progress", text: `Resuming from turn ${turn}…` };
  render();
  let ended: DialogueEvent | null = null;
  const channel = new Channel<DialogueEvent>();
  channel.onmessage = (e) => {
    if (detail !== d) return;
    if (e.type === "turn") {
      d.outcome = { kind: "ok", testid: "resume-progress", text: `Round ${e.round}: ${e.persona} is thinking…` };
      render();
    } else if (e.type === "verdict") {
      d.outcome = { kind: "ok", testid: "resume-progress", text: `ALFRED's verdict on round ${e.round}: ${e.verdict}` };
      render();
    } else if (e.type === "done" || e.type === "failed") {
      ended = e;
    }
  };
  const r = await call(() => commands.resumeDialogue(d.id, turn, text, channel));
  if (detail !== d) return;
  d.busy = null;
  await refreshList();
  const end = ended as DialogueEvent | null;
  if (!r.ok || !end) {
    d.outcome = { kind: "error", testid: "resume-error", text: `Resume failed: ${r.ok ? "the dialogue ended without a word" : r.message}` };
    render();
    return;
  }
  dialogueDrafts.delete(d.id);
  if (end.type === "done") {
    await select(end.cycle, {
      kind: "ok",
      testid: "resume-result",
      text: `The dialogue was thought anew (${end.ending}) as this cycle, from`,
      link: { label: d.id, cycle: d.id },
    });
  } else if (end.type === "failed" && end.cycle) {
    await select(end.cycle, { kind: "error", testid: "resume-error", text: `It broke off again: ${end.message}` });
  } else if (end.type === "failed") {
    d.outcome = { kind: "error", testid: "resume-error", text: `Resume failed: ${end.message}` };
    render();
  }
}

/** Resumes a forge cycle: from `attempt` with the user's code, or (null) BRICK tries again. */
async function resumeForge(attempt: number | null): Promise<void> {
  const d = detail;
  const task = d?.view?.forge;
  if (!d || !task || d.busy) return;
  const edited = attempt === null ? null : (d.forgeDraft.get(attempt) ?? task.attempts.find((x) => x.n === attempt)?.code ?? null);
  d.busy = "resume";
  d.outcome = null;
  render();
  const r = await call(() => commands.resumeForge(d.id, attempt, edited));
  if (detail !== d) return;
  d.busy = null;
  await refreshList();
  if (!r.ok) {
    d.outcome = { kind: "error", testid: "resume-error", text: `Resume failed: ${r.message}` };
    render();
    return;
  }
  forgeDrafts.delete(d.id);
  await select(r.data.cycle.id, {
    kind: "ok",
    testid: "resume-result",
    text: `Installed ${r.data.task.receiver_name}.${r.data.task.selector} after ${r.data.attempts} attempt(s), resuming`,
    link: { label: d.id, cycle: d.id },
  });
}

async function discard(): Promise<void> {
  const d = detail;
  if (!d || d.busy) return;
  d.busy = "discard";
  d.outcome = null;
  render();
  const r = await call(() => commands.discard(d.id));
  if (detail !== d) return;
  d.busy = null;
  if (!r.ok) {
    d.outcome = { kind: "error", testid: "discard-error", text: `Discard failed: ${r.message}` };
    render();
    return;
  }
  drafts.delete(d.id);
  await refreshList();
  await select(d.id, { kind: "ok", testid: "discard-result", text: "Discarded: the cycle stays aborted and nothing it staged was written." });
}

async function openObject(id: string): Promise<void> {
  const r = await call(() => commands.openInspector(id));
  if (!r.ok && detail) {
    detail.outcome = { kind: "error", testid: "open-error", text: `Could not open the Inspector: ${r.message}` };
    render();
  }
}

// Live: committed changes add cycles and change what a dry run stages.
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
function scheduleRefresh(): void {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void refreshLive(), 150);
}

async function refreshLive(): Promise<void> {
  await refreshList();
  const d = detail;
  if (!d) return render();
  const now = list.cycles.find((c) => c.id === d.id);
  if (d.view && now && now.state !== d.view.summary.state && !d.busy) {
    await loadDetail(token); // resumed or discarded elsewhere
  } else {
    render();
    if (d.view?.program && !d.step.busy && !d.busy) await runStep(d.step.cursor);
  }
}

async function start(): Promise<void> {
  document.body.append(listEl, detailEl);
  render();
  try {
    await events.imageChanged.listen(() => scheduleRefresh());
    await events.imageResync.listen(() => scheduleRefresh());
    await events.cycleRecorded.listen(() => scheduleRefresh());
    await events.showCycle.listen((e) => {
      const id = e.payload.cycle;
      void (async () => {
        if (!list.cycles.some((c) => c.id === id)) await refreshList();
        await select(id);
      })();
    });
  } catch (e) {
    console.warn("debugger: live updates unavailable", e);
  }
  await refreshList();
  const asked = new URLSearchParams(location.search).get("cycle");
  const first = initialCycle(list.cycles, asked);
  if (first) await select(first);
  else render();
  document.body.dataset.ready = "true";
}

void start();
