// The Inspector window: one object of the living image, its slots (editable as JSON), parents,
// methods and history. URL: inspector.html?object=OBJECT_ID. It follows the image live.

import "../theme.css";
import "./inspector.css";

import { commands, events, type ObjRef, type ObjectView } from "../bindings";
import { call } from "../common/cycles";
import { autosizeAll, button, fill, h, markFocus, restoreFocus } from "../common/dom";
import { concerns, isPinned } from "../common/object";
import { formatFullTime, formatTime } from "../common/time";
import { cyclesSection, debuggerButton, methodsSection, parentsSection } from "./sections";
import { emptyLearning, learningSection, loadLearning, type Learning } from "./learning";
import { conceptsSection, emptyConcepts, emptySearch, linksSection, loadConcepts, memorySection, type ConceptList, type MemorySearch } from "./memory";
import { emptySlotsState, slotsSection, type SlotsState } from "./slots";

type Status =
  | { kind: "loading" }
  | { kind: "shown" }
  | { kind: "missing"; message: string } // never found
  | { kind: "gone"; message: string } // was shown, then deleted
  | { kind: "failed"; message: string };

const app = document.getElementById("app") ?? document.body;

const state = {
  id: new URLSearchParams(location.search).get("object"),
  view: null as ObjectView | null,
  status: { kind: "loading" } as Status,
  /** Per object id, so navigating away and back keeps drafts. */
  slots: new Map<string, SlotsState>(),
  /** A persona's Learning section, per object id. */
  learning: new Map<string, Learning>(),
  /** A persona's memory search, per object id. */
  searches: new Map<string, MemorySearch>(),
  /** A persona's concepts, per object id. */
  concepts: new Map<string, ConceptList>(),
  trail: [] as ObjRef[],
  pinBusy: false,
  pinError: null as string | null,
  notice: null as { text: string; error: boolean } | null,
};

let loadToken = 0;
let noticeTimer: ReturnType<typeof setTimeout> | undefined;
let reloadTimer: ReturnType<typeof setTimeout> | undefined;

function slotsState(id: string): SlotsState {
  let s = state.slots.get(id);
  if (!s) {
    s = emptySlotsState();
    state.slots.set(id, s);
  }
  return s;
}

function learningState(id: string): Learning {
  let s = state.learning.get(id);
  if (!s) {
    s = emptyLearning();
    state.learning.set(id, s);
  }
  return s;
}

function searchState(id: string): MemorySearch {
  let s = state.searches.get(id);
  if (!s) {
    s = emptySearch();
    state.searches.set(id, s);
  }
  return s;
}

function conceptState(id: string): ConceptList {
  let s = state.concepts.get(id);
  if (!s) {
    s = emptyConcepts();
    state.concepts.set(id, s);
  }
  return s;
}

function notify(text: string, error = false): void {
  state.notice = { text, error };
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    state.notice = null;
    render();
  }, error ? 8000 : 3000);
  render();
}

async function load(): Promise<void> {
  const id = state.id;
  const token = ++loadToken;
  if (!id) {
    state.status = { kind: "missing", message: "No object given: open the Inspector from a morph or a link." };
    render();
    return;
  }
  const r = await call(() => commands.object(id));
  if (token !== loadToken) return; // a newer load (or a navigation) superseded this one
  if (r.ok) {
    state.view = r.data;
    state.status = { kind: "shown" };
    document.title = `${r.data.name} — Inspector`;
    // Its evaluations and ascensions are objects of their own: read again with it.
    if (r.data.persona && !learningState(id).busy) void loadLearning(id, learningState(id), render);
    // So are its concepts (a document it remembered grows them).
    if (r.data.persona && !conceptState(id).busy) void loadConcepts(id, conceptState(id), render);
  } else if (r.notFound) {
    const wasShown = state.view?.id === id;
    state.status = wasShown
      ? { kind: "gone", message: `${state.view?.name ?? id} no longer exists: it was deleted.` }
      : { kind: "missing", message: `There is no object ${id}.` };
    document.title = "Gone — Inspector";
  } else {
    state.status = { kind: "failed", message: r.message };
  }
  render();
}

function scheduleReload(): void {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => void load(), 80);
}

function navigate(to: ObjRef, remember = true): void {
  if (remember && state.view && state.view.id !== to.id) {
    state.trail.push({ id: state.view.id, name: state.view.name });
  }
  state.id = to.id;
  state.view = null;
  state.status = { kind: "loading" };
  state.pinError = null;
  history.replaceState(null, "", `?object=${encodeURIComponent(to.id)}`);
  window.scrollTo(0, 0);
  render();
  void load();
}

function back(): void {
  const to = state.trail.pop();
  if (to) navigate(to, false);
}

async function togglePin(view: ObjectView): Promise<void> {
  if (state.pinBusy) return;
  const pinned = isPinned(view.slots);
  state.pinBusy = true;
  state.pinError = null;
  render();
  const r = await call(() => commands.setPinned(view.id, !pinned));
  state.pinBusy = false;
  if (!r.ok) state.pinError = r.message;
  else notify(pinned ? "Unpinned from the world" : "Pinned to the world");
  await load();
}

async function openDebugger(cycle: string | null): Promise<void> {
  const r = await call(() => commands.openDebugger(cycle));
  if (!r.ok) notify(`Could not open the Debugger: ${r.message}`, true);
}

async function openPlayground(receiver: string): Promise<void> {
  const r = await call(() => commands.openPlayground(receiver));
  if (!r.ok) notify(`Could not open the Playground: ${r.message}`, true);
}

function header(view: ObjectView): HTMLElement {
  const pinned = isPinned(view.slots);
  return h("header", { class: "head panel" },
    h("div", { class: "title-row" },
      h("h1", { class: "name", testid: "object-name", text: view.name }),
      h("span", { class: "version muted", testid: "object-version", title: "Version: bumped by every committed change", text: `v${view.version}` }),
      h("span", { class: "spacer" }),
      button(state.pinBusy ? "…" : pinned ? "Unpin" : "Pin to world", () => void togglePin(view), {
        testid: "pin-toggle",
        data: { pinned: String(pinned) },
        title: pinned ? "Remove its morph from the world" : "Give it a morph in the world",
        attrs: state.pinBusy ? { disabled: "" } : {},
      }),
      button("Playground", () => void openPlayground(view.name), {
        testid: "open-playground",
        title: `Open the Playground to send ${view.name} messages`,
      }),
      debuggerButton(() => void openDebugger(null)),
    ),
    h("div", { class: "id-row small" },
      h("span", { class: "muted", text: "id " }),
      h("code", { class: "selectable", testid: "object-id", text: view.id }),
      h("span", { class: "muted", title: `created ${formatFullTime(view.created)}\nupdated ${formatFullTime(view.updated)}`, text: ` · updated ${formatTime(view.updated)}` }),
    ),
    state.pinError ? h("div", { class: "field-error", testid: "pin-error", text: state.pinError }) : null,
  );
}

function trailLink(): HTMLElement | null {
  const prev = state.trail.at(-1);
  if (!prev) return null;
  return h("nav", { class: "trail" },
    button(`← ${prev.name || prev.id}`, back, { class: "link", testid: "nav-back", title: "Back to the object you came from" }),
  );
}

function noticeLine(): HTMLElement | null {
  const n = state.notice;
  if (!n) return null;
  return h("div", { class: `notice message ${n.error ? "error" : "ok"}`, testid: "notice", attrs: { role: "status" }, text: n.text });
}

function render(): void {
  const focus = markFocus();
  const scroll = window.scrollY;
  const { status, view } = state;
  if (status.kind === "loading" && !view) {
    fill(app, trailLink(), h("div", { class: "loading muted", text: "Loading…" }));
  } else if (status.kind === "missing" || status.kind === "gone") {
    fill(app,
      trailLink(),
      h("div", { class: "gone panel", testid: "object-missing", data: { reason: status.kind } },
        h("h1", { text: status.kind === "gone" ? "Deleted" : "Not found" }),
        h("p", { text: status.message }),
        state.id ? h("p", { class: "small muted" }, "id ", h("code", { class: "selectable", text: state.id })) : null,
        debuggerButton(() => void openDebugger(null)),
      ),
    );
  } else if (status.kind === "failed" && !view) {
    fill(app,
      h("div", { class: "message error", testid: "load-error", text: `Could not load the object: ${status.message}` }),
      button("Retry", () => void load(), { testid: "retry" }),
    );
  } else if (view) {
    const slots = slotsState(view.id);
    fill(app,
      trailLink(),
      header(view),
      noticeLine(),
      status.kind === "failed"
        ? h("div", { class: "message error", testid: "load-error", text: `Could not refresh: ${status.message}` })
        : null,
      parentsSection(view.parents, (p) => navigate(p)),
      view.persona ? memorySection(view.id, searchState(view.id), render) : null,
      view.persona ? conceptsSection(view.id, conceptState(view.id), render, (p) => navigate(p)) : null,
      view.persona ? learningSection(view.id, learningState(view.id), render) : null,
      slotsSection({ objectId: view.id, slots: view.slots, state: slots, rerender: render, reload: load, notify }),
      linksSection(view.links, (p) => navigate(p)),
      methodsSection(view.methods, (id) => void openDebugger(id)),
      cyclesSection(view.cycles, (id) => void openDebugger(id)),
    );
  }
  autosizeAll(app);
  window.scrollTo(0, scroll);
  restoreFocus(focus);
}

async function start(): Promise<void> {
  render();
  try {
    await events.imageChanged.listen((e) => {
      const id = state.id;
      if (id && concerns(e.payload, state.view, id)) scheduleReload();
    });
    await events.imageResync.listen(() => scheduleReload());
  } catch (e) {
    console.warn("inspector: live updates unavailable", e);
  }
  await load();
  document.body.dataset.ready = "true";
}

void start();
