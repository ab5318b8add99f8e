// The world window: a canvas of morphs, one per persona and per pinned object. Morphs are
// dragged to move them (their position is a slot of their object), clicked for a halo, and
// receive files dropped from the file manager. Every change to the image, from any window,
// arrives as an event and the world redraws without reload.

import "../theme.css";
import "./world.css";

import { Channel } from "@tauri-apps/api/core";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { getCurrentWindow } from "@tauri-apps/api/window";
import { commands, events, type ChatEvent, type IngestEvent, type IpcError, type MorphView, type SchedulerView, type StatusChange, type Amendment, type CodexReport, type PullProgress, type DialogueEvent } from "../bindings";
import { DEFAULT_VIEWPORT, World, defaultLayout, drawWorld, type Morph, type Point, type Size } from "../morphic";
import { domSpriteCache } from "../morphic/dom";
import { badgesFor, withStatus } from "./badges";
import { DissonancePills } from "./dissonance";
import { incidentText } from "./incident";
import { showReadOnly } from "./readonly";
import { showBackup } from "./backup";
import { activityLabel, failureText, fileName, readingText } from "./ingest";
import { Bubble, Halo, choosePersona, liveToast, toast, type LiveToast } from "./overlay";
import { renderHosts, renderRam, renderVram, withModelState } from "./vram";
import { newProblems, showAmendments } from "./amendments";
import { showModels } from "./models";
import { AgendaPanel, waiting } from "./agenda";
import { dialogueAction } from "./dialogue";
import { dialogueOffer } from "./pair";
import { errorMessage } from "../common/cycles";

const canvas = document.getElementById("world") as HTMLCanvasElement;
const overlay = document.getElementById("overlay") as HTMLDivElement;
const chatForm = document.getElementById("chat") as HTMLFormElement;
const chatInput = document.getElementById("chat-input") as HTMLInputElement;
const chatLabel = document.getElementById("chat-label") as HTMLLabelElement;
const vramEl = document.getElementById("vram") as HTMLSpanElement;
const ramEl = document.getElementById("ram") as HTMLSpanElement;
const hostsEl = document.getElementById("hosts") as HTMLSpanElement;
const backupEl = document.getElementById("backup") as HTMLSpanElement;
const amendmentsButton = document.getElementById("amendments") as HTMLButtonElement;
const ctx = canvas.getContext("2d");
if (!ctx) throw new Error("this WebView cannot draw on a canvas");

const world = new World();
const sprites = domSpriteCache();
const views = new Map<string, MorphView>();
const halo = new Halo(overlay);
const bubbles = new Map<string, Bubble>();
/** What each persona is doing right now (an ingest's stage), shown as its first badge. */
const activities = new Map<string, string>();
let scaleFactor = 1;
const dissonance = new DissonancePills(overlay, (cycle) => {
  void commands.openDebugger(cycle).then((r) => {
    if (r.status === "error") toast(`Could not open the Debugger: ${errorText(r.error)}`, "error");
  });
});

const errorText = (e: IpcError): string => errorMessage(e);

// ---- the image → the world -------------------------------------------------------------

/** Room the chat bar takes under the canvas once a persona is picked (its padding and input). */
const CHAT_BAR = 48;

/**
 * The canvas a user sees when nothing is picked yet, less the chat bar's room: a morph
 * placed by default stays whole and clickable when the chat bar opens under it, however tall
 * the toolbar is. Before the first layout, the size the window is designed for.
 */
function stageView(): Size {
  const { clientWidth: width, clientHeight: height } = canvas;
  if (width === 0 || height === 0) return DEFAULT_VIEWPORT;
  return { width, height: height - (chatForm.classList.contains("hidden") ? CHAT_BAR : 0) };
}

/** Brings the world in line with the image; keeps a morph being dragged where the hand is. */
async function reload(): Promise<void> {
  const list = await commands.world();
  const seen = new Set<string>();
  list.forEach((view, index) => {
    const id = view.object.id;
    seen.add(id);
    views.set(id, view);
    const current = world.get(id);
    const held = drag?.id === id;
    const place: Point =
      held && current
        ? { x: current.x, y: current.y }
        : (view.position ?? (current ? { x: current.x, y: current.y } : defaultLayout(index, stageView())));
    world.upsert(id, {
      name: view.object.name,
      kind: view.kind,
      x: place.x,
      y: place.y,
      pinned: view.pinned,
      badges: badgesFor(view, activities.get(id)),
    });
  });
  for (const m of [...world.morphs()]) {
    if (!seen.has(m.id)) {
      world.remove(m.id);
      views.delete(m.id);
      bubbles.get(m.id)?.el.remove();
      bubbles.delete(m.id);
      if (halo.target === m.id) halo.hide();
    }
  }
  placeOverlays();
}

/** A persona's live status changed: redraw its badges (a persona not shown yet waits for the reload). */
function applyStatus(change: StatusChange): void {
  const view = views.get(change.persona);
  if (!view) return scheduleReload();
  const next = withStatus(view, change);
  views.set(change.persona, next);
  world.upsert(change.persona, { badges: badgesFor(next, activities.get(change.persona)) });
}

/** The scheduler's status changed: the VRAM and RAM bars and the personas' model badges. */
function applyScheduler(status: SchedulerView): void {
  renderVram(vramEl, status);
  renderHosts(hostsEl, status);
  renderRam(ramEl, status);
  for (const [id, view] of views) {
    const next = withModelState(view, status);
    if (next !== view) {
      views.set(id, next);
      world.upsert(id, { badges: badgesFor(next, activities.get(id)) });
    }
  }
}

// ---- codex amendments -------------------------------------------------------------------

let pending: Amendment[] = [];
const toldProblems = new Set<string>();

function applyCodex(report: CodexReport): void {
  for (const p of newProblems(report, toldProblems)) toast(`Malformed codex (the old one stays): ${p}`, "error");
  setPending(report.pending);
}

function setPending(list: Amendment[]): void {
  pending = list;
  amendmentsButton.textContent = `Amendments (${list.length})`;
  amendmentsButton.classList.toggle("hidden", list.length === 0);
}

// ---- models ------------------------------------------------------------------------------

const modelsButton = document.getElementById("models") as HTMLButtonElement;

async function listModels() {
  const r = await commands.models();
  if (r.status === "error") {
    toast(`Could not list the models: ${errorText(r.error)}`, "error");
    return [];
  }
  return r.data;
}

modelsButton.addEventListener("click", async () => {
  showModels(
    await listModels(),
    async (name, progress) => {
      const channel = new Channel<PullProgress>();
      channel.onmessage = progress;
      const r = await commands.pullModel(name, channel);
      return r.status === "error" ? errorText(r.error) : null;
    },
    listModels,
  );
});

// ---- agenda ------------------------------------------------------------------------------

const agendaButton = document.getElementById("agenda") as HTMLButtonElement;

async function loadAgenda() {
  const r = await commands.agenda();
  agendaButton.textContent = waiting(r) ? `Agenda (${waiting(r)})` : "Agenda";
  return r;
}

const agenda = new AgendaPanel({
  reload: loadAgenda,
  setAutonomy: async (a) => {
    const r = await commands.setAutonomy(a);
    if (r.status === "error") toast(errorText(r.error), "error");
    await refreshAgenda();
  },
  decide: async (id, approve) => {
    const r = approve ? await commands.approveWork(id) : await commands.rejectWork(id);
    if (r.status === "error") toast(errorText(r.error), "error");
    await refreshAgenda();
  },
  plan: async () => {
    const r = await commands.planAgenda();
    if (r.status === "error") toast(errorText(r.error), "error");
    else if (r.data.motives.length === 0) toast("Nothing new to look into.");
    await refreshAgenda();
  },
  openCycle: (cycle) => void commands.openDebugger(cycle),
});

let agendaTimer: number | undefined;
async function refreshAgenda(): Promise<void> {
  const view = await loadAgenda();
  agenda.refresh(view);
}
function scheduleAgenda(): void {
  window.clearTimeout(agendaTimer);
  agendaTimer = window.setTimeout(() => void refreshAgenda(), 150);
}

agendaButton.addEventListener("click", async () => agenda.toggle(await loadAgenda()));

amendmentsButton.addEventListener("click", () =>
  showAmendments(pending, async (id, approve) => {
    const r = approve ? await commands.approveAmendment(id) : await commands.rejectAmendment(id);
    if (r.status === "error") toast(errorText(r.error), "error");
    else toast(approve ? "Amendment approved: the persona's codex changed." : "Amendment rejected: the codex file is back.");
    setPending(await commands.amendments());
  }),
);

/** Shows (or, with null, clears) what a persona is doing on its morph. */
function setActivity(id: string, label: string | null): void {
  if (label) activities.set(id, label);
  else activities.delete(id);
  const view = views.get(id);
  if (view) world.upsert(id, { badges: badgesFor(view, label) });
}

let reloadTimer: number | undefined;
function scheduleReload(): void {
  window.clearTimeout(reloadTimer);
  reloadTimer = window.setTimeout(() => void reload().catch(report), 40);
}

function report(e: unknown): void {
  toast(e instanceof Error ? e.message : String(e), "error");
}

// ---- drawing -----------------------------------------------------------------------------

function resize(): void {
  const dpr = window.devicePixelRatio || 1;
  const { clientWidth: w, clientHeight: h } = canvas;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  world.touch();
}

function frame(): void {
  if (world.dirty && ctx) {
    drawWorld(ctx, world, {
      width: canvas.clientWidth,
      height: canvas.clientHeight,
      scaleFactor: window.devicePixelRatio || 1,
      background: "#14161f",
      sprites,
      partial: true,
    });
    world.markClean();
    placeOverlays();
  }
  requestAnimationFrame(frame);
}

function placeOverlays(): void {
  const target = halo.target ? world.get(halo.target) : undefined;
  if (target) halo.place(target);
  for (const [id, bubble] of bubbles) {
    const m = world.get(id);
    if (m) bubble.place(m);
  }
  for (const id of dissonance.ids()) {
    const m = world.get(id);
    if (m) dissonance.place(id, m);
  }
}

/** Which personas have a suspended cycle: asked at start and after every cycle record. */
let dissonanceTimer: number | undefined;
function scheduleDissonance(): void {
  window.clearTimeout(dissonanceTimer);
  dissonanceTimer = window.setTimeout(() => {
    void commands.dissonance().then((r) => {
      if (r.status === "ok") {
        dissonance.set(r.data);
        placeOverlays();
      } else {
        toast(`Could not read the suspended cycles: ${errorText(r.error)}`, "error");
      }
    });
  }, 100);
}

// ---- direct manipulation -----------------------------------------------------------------

interface Drag {
  id: string;
  dx: number;
  dy: number;
  startX: number;
  startY: number;
  moved: boolean;
}
let drag: Drag | null = null;

const at = (e: PointerEvent): Point => ({ x: e.offsetX, y: e.offsetY });

canvas.addEventListener("pointerdown", (e) => {
  const hit = world.hitTest(at(e));
  if (!hit) {
    select(null);
    return;
  }
  world.bringToFront(hit.id);
  drag = { id: hit.id, dx: e.offsetX - hit.x, dy: e.offsetY - hit.y, startX: e.offsetX, startY: e.offsetY, moved: false };
  canvas.setPointerCapture(e.pointerId);
});

canvas.addEventListener("pointermove", (e) => {
  if (!drag) {
    canvas.style.cursor = world.hitTest(at(e)) ? "grab" : "default";
    return;
  }
  if (!drag.moved && Math.hypot(e.offsetX - drag.startX, e.offsetY - drag.startY) < 4) return;
  drag.moved = true;
  canvas.style.cursor = "grabbing";
  world.move(drag.id, Math.round(e.offsetX - drag.dx), Math.round(e.offsetY - drag.dy));
});

canvas.addEventListener("pointerup", (e) => {
  const d = drag;
  drag = null;
  canvas.releasePointerCapture(e.pointerId);
  if (!d) return;
  const m = world.get(d.id);
  if (!m) return;
  if (!d.moved) {
    // Shift+click on a second persona picks a pair (for a dialogue between the two).
    const before = halo.target ? world.get(halo.target) : undefined;
    const pairs = e.shiftKey && before?.kind === "persona" && m.kind === "persona" && before.id !== m.id;
    select(d.id, pairs ? before.id : null);
    return;
  }
  void commands.moveMorph(d.id, m.x, m.y).then((r) => {
    if (r.status === "error") {
      toast(`Could not move ${m.name}: ${errorText(r.error)}`, "error");
      scheduleReload();
    }
  });
});

function select(id: string | null, partnerId: string | null = null): void {
  world.select(id, partnerId);
  const m = id ? world.get(id) : undefined;
  const partner = partnerId ? world.get(partnerId) : undefined;
  const offer = m ? dialogueOffer(m, partner) : undefined;
  if (!m) {
    halo.hide();
    chatForm.classList.add("hidden");
    return;
  }
  halo.show(m, {
    inspect: () => void inspect(m.id),
    clone: () => void cloneOf(m),
    pin: () => void unpin(m),
    debug: () => void commands.openDebugger(null),
    chat: () => {
      asking = "chat";
      chatLabel.textContent = `Message ${m.name}`;
      chatInput.placeholder = `Say something to ${m.name}…`;
      chatInput.focus();
    },
    teach: () => {
      asking = "teach";
      chatLabel.textContent = `Teach ${m.name}`;
      chatInput.placeholder = "selector, then what it should do — e.g. shout: the text in capitals";
      chatForm.classList.remove("hidden");
      chatInput.focus();
    },
    dialogue: offer && {
      title: offer.title,
      act: () => {
        asking = "dialogue";
        sides = offer.sides;
        chatLabel.textContent = "Dialogue on";
        chatInput.placeholder = offer.placeholder;
        chatInput.focus();
      },
    },
  });
  asking = "chat";
  if (m.kind === "persona") {
    chatLabel.textContent = `Message ${m.name}`;
    chatInput.placeholder = `Say something to ${m.name}…`;
    chatForm.classList.remove("hidden");
  } else {
    chatForm.classList.add("hidden");
  }
}

async function inspect(id: string): Promise<void> {
  const r = await commands.openInspector(id);
  if (r.status === "error") toast(errorText(r.error), "error");
}

async function cloneOf(m: Morph): Promise<void> {
  const r = await commands.cloneObject(m.id);
  if (r.status === "error") toast(`Could not clone ${m.name}: ${errorText(r.error)}`, "error");
  else toast(`Cloned ${m.name} as ${r.data.name}`);
}

async function unpin(m: Morph): Promise<void> {
  const r = await commands.setPinned(m.id, false);
  if (r.status === "error") toast(errorText(r.error), "error");
}

// ---- chat --------------------------------------------------------------------------------

/** What the message bar sends: a chat with the selected persona, a dialogue's question, or a
 * method to teach it. */
let asking: "chat" | "dialogue" | "teach" = "chat";
/** A dialogue's sides when the user picked a pair (null: BRICK and ROBIN). */
let sides: [string, string] | null = null;

chatForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const id = halo.target;
  const text = chatInput.value;
  const m = id ? world.get(id) : undefined;
  if (!m || m.kind !== "persona" || !text.trim()) return;
  chatInput.value = "";
  if (asking === "dialogue") void dialogue(text, sides);
  else if (asking === "teach") void teach(m, text);
  else void chat(m, text);
});

/** A dialogue between BRICK and ROBIN (or a picked pair), judged by ALFRED, played out in
 * their bubbles. */
async function dialogue(question: string, between: [string, string] | null): Promise<void> {
  const byName = (name: string) => world.morphs().find((x) => x.kind === "persona" && x.name === name);
  const channel = new Channel<DialogueEvent>();
  channel.onmessage = (event) => {
    const act = dialogueAction(event);
    switch (act.kind) {
      case "turn": {
        const m = byName(act.persona);
        if (m) bubbleFor(m).set(act.label, "reply");
        break;
      }
      case "text": {
        const m = byName(act.persona);
        if (m) bubbleFor(m).append(act.text);
        break;
      }
      case "toast":
        toast(act.text, act.error ? "error" : "info");
        break;
      case "none":
        break;
    }
  };
  const r = await commands.dialogue(question, 3, between, channel);
  if (r.status === "error") toast(`The dialogue could not start: ${errorText(r.error)}`, "error");
}

/** The persona's speech bubble, placed beside its morph. */
function bubbleFor(m: Morph): Bubble {
  let bubble = bubbles.get(m.id);
  if (!bubble) {
    bubble = new Bubble(overlay, m.name);
    bubbles.set(m.id, bubble);
  }
  bubble.place(m);
  return bubble;
}

async function chat(m: Morph, text: string): Promise<void> {
  const b = bubbleFor(m);
  b.set("…", "thinking");
  let replying = false;
  const channel = new Channel<ChatEvent>();
  channel.onmessage = (event) => {
    switch (event.type) {
      case "started":
        b.set("…", "thinking");
        break;
      case "token":
        // The first piece replaces the thinking dots.
        if (!replying) b.set("", "reply");
        replying = true;
        b.append(event.text);
        break;
      case "recalled":
        if (event.error) toast(`${m.name} answers without its memory: ${event.error}`, "error");
        break;
      case "offline":
        b.set(event.message, "offline");
        break;
      case "failed":
        if (event.partial) b.append(" [cut]");
        else b.set(event.message, "error");
        toast(`${m.name}: ${event.message}`, "error");
        break;
      case "done":
        break;
    }
    // The text changed the bubble's width: place it again so it stays on the stage.
    const now = world.get(m.id);
    if (now) b.place(now);
  };
  const r = await commands.chat(m.id, text, channel);
  if (r.status === "error") b.set(errorText(r.error), "error");
}

// ---- drops from the file manager ---------------------------------------------------------

/** The morph under a drop position (physical pixels of the webview) in logical canvas space. */
function morphAtDrop(physical: Point): Morph | undefined {
  const p = world.toLogical(physical, scaleFactor);
  const top = canvas.getBoundingClientRect().top;
  return world.hitTest({ x: p.x, y: p.y - top });
}

/** Shows an ingest's progress on the persona's morph, and its start, failures and end as toasts. */
function showIngest(personaId: string, name: string, event: IngestEvent): void {
  switch (event.type) {
    case "started":
      drops.get(personaId)?.toast.done();
      drops.set(personaId, {
        files: event.files,
        toast: liveToast(`${name} is reading ${event.files.length === 1 ? "1 file" : `${event.files.length} files`}…`),
      });
      break;
    case "file": {
      if (event.stage === "failed") toast(failureText(event.path, event.error), "error");
      const drop = drops.get(personaId);
      const n = (drop?.files.indexOf(event.path) ?? -1) + 1;
      const place = drop && n > 0 ? { n, of: drop.files.length } : undefined;
      if (drop && place && event.stage === "reading") drop.toast.set(readingText(name, event.path, place));
      setActivity(personaId, activityLabel(event, place));
      break;
    }
    case "finished":
      drops.get(personaId)?.toast.done();
      drops.delete(personaId);
      setActivity(personaId, null);
      toast(event.message, event.failed.length > 0 ? "error" : "info");
      break;
    case "summary": {
      // The persona's short summary of a document it just read streams into its bubble.
      const m = world.get(personaId);
      if (!m) break;
      const b = bubbleFor(m);
      if (summarising.get(personaId) !== event.path) {
        summarising.set(personaId, event.path);
        b.set(`On ${fileName(event.path)}: `, "reply");
      }
      b.append(event.text);
      b.place(world.get(personaId) ?? m);
      break;
    }
    case "summaryDone":
      summarising.delete(personaId);
      break;
    case "summaryFailed":
      summarising.delete(personaId);
      toast(`${name} could not summarise ${fileName(event.path)}: ${event.message}`);
      break;
  }
}

/** The drop each persona is reading now: its files in order, and its live toast. */
const drops = new Map<string, { files: string[]; toast: LiveToast }>();

/** The document each persona is summarising now. */
const summarising = new Map<string, string>();

/** Gives the files just dropped on this window to a persona; progress shows on its morph. */
async function give(personaId: string): Promise<void> {
  const name = world.get(personaId)?.name ?? "persona";
  const channel = new Channel<IngestEvent>();
  channel.onmessage = (event) => showIngest(personaId, name, event);
  const r = await commands.ingestDrop(personaId, channel);
  if (r.status === "error") {
    setActivity(personaId, null);
    toast(`${name} could not take the files: ${errorText(r.error)}`, "error");
  }
}

async function listenForDrops(): Promise<void> {
  await getCurrentWebview().onDragDropEvent((event) => {
    const p = event.payload;
    if (p.type === "enter" || p.type === "over") {
      const hit = morphAtDrop(p.position);
      world.setHover(hit?.kind === "persona" ? hit.id : null);
    } else if (p.type === "leave") {
      world.setHover(null);
    } else if (p.type === "drop") {
      world.setHover(null);
      const hit = morphAtDrop(p.position);
      if (hit?.kind === "persona") {
        void give(hit.id);
        return;
      }
      const personas = world
        .morphs()
        .filter((m) => m.kind === "persona")
        .map((m) => ({ id: m.id, name: m.name }));
      void choosePersona(personas, p.paths.length).then((id) => {
        if (id) void give(id);
      });
    }
  });
}

// ---- keyboard ----------------------------------------------------------------------------

window.addEventListener("keydown", (e) => {
  if (!(e.ctrlKey || e.metaKey)) {
    if (e.key === "Escape" && document.activeElement !== chatInput) select(null);
    return;
  }
  if (e.key === "i" && halo.target) {
    e.preventDefault();
    void inspect(halo.target);
  } else if (e.key === "d") {
    e.preventDefault();
    void commands.openDebugger(null);
  } else if (e.key === "p") {
    e.preventDefault();
    void commands.openPlayground(halo.target ? (world.get(halo.target)?.name ?? null) : null);
  }
});

/** Teaches `m` the method `text` names (`selector what it should do`): BRICK forges it. */
async function teach(m: Morph, text: string): Promise<void> {
  const [selector, ...words] = text.trim().split(/\s+/);
  const task = words.join(" ");
  if (!selector || !task) {
    toast("Write the selector, then what it should do — e.g. shout: the text in capitals", "error");
    return;
  }
  toast(`BRICK forges ${m.name} ${selector}… (its progress shows in the Playground)`);
  void commands.openPlayground(null);
  const r = await commands.teach(m.name, selector, task);
  if (r.status === "ok") toast(`${m.name} learned ${selector} (${r.data.attempts} attempt${r.data.attempts === 1 ? "" : "s"})`);
  else {
    toast(`Teaching ${m.name} ${selector} failed: ${errorText(r.error)}`, "error");
    void commands.openDebugger(null);
  }
}

document.getElementById("open-playground")?.addEventListener("click", () => {
  void commands.openPlayground(null);
});

document.getElementById("open-debugger")?.addEventListener("click", () => {
  void commands.openDebugger(null);
});

// ---- start ------------------------------------------------------------------------------

/** Read-only introspection for the end-to-end tests: where each morph is drawn. */
declare global {
  interface Window {
    __telosWorld?: () => {
      id: string;
      name: string;
      kind: string;
      x: number;
      y: number;
      width: number;
      height: number;
      hover: boolean;
      selected: boolean;
      badges: string[];
    }[];
  }
}
window.__telosWorld = () =>
  world.morphs().map((m) => ({
    id: m.id,
    name: m.name,
    kind: m.kind,
    x: m.x,
    y: m.y + canvas.getBoundingClientRect().top,
    width: m.width,
    height: m.height,
    hover: m.hover,
    selected: m.selected,
    badges: m.badges.map((b) => b.label),
  }));

async function start(): Promise<void> {
  const win = getCurrentWindow();
  scaleFactor = await win.scaleFactor();
  await win.onScaleChanged(({ payload }) => {
    scaleFactor = payload.scaleFactor;
    resize();
  });
  await events.imageChanged.listen(scheduleReload);
  await events.imageResync.listen(scheduleReload);
  await events.cycleRecorded.listen(scheduleDissonance);
  await events.agendaChanged.listen(scheduleAgenda);
  void loadAgenda();
  scheduleDissonance();
  await events.personaStatus.listen((e) => applyStatus(e.payload));
  await events.schedulerStatus.listen((e) => applyScheduler(e.payload));
  applyScheduler(await commands.schedulerStatus());
  await events.codexChanged.listen((e) => applyCodex(e.payload));
  setPending(await commands.amendments());
  await events.taskIncident.listen(({ payload }) => toast(incidentText(payload), "error"));
  await events.readOnlyChanged.listen(({ payload }) => showReadOnly(payload.reason));
  showReadOnly(await commands.readOnly());
  // The backup badge: on load and every 10 s (a backup starts or ends on its schedule).
  const backups = async () => showBackup(backupEl, await commands.backupStatus());
  await backups();
  setInterval(() => backups().catch(report), 10000);
  await events.inboxProgress.listen(({ payload }) =>
    showIngest(payload.persona.id, payload.persona.name, payload.event),
  );
  await listenForDrops();
  // The canvas changes size with the window and when the chat bar shows or hides.
  new ResizeObserver(resize).observe(canvas);
  resize();
  await reload();
  requestAnimationFrame(frame);
  requestAnimationFrame(() => {
    document.body.dataset.ready = "true";
  });
}

start().catch(report);
