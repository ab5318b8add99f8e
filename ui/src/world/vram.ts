// The VRAM bar: what the scheduler has in the GPU's memory, per model, against the budget.

import type { ModelState, MorphView, SchedulerView } from "../bindings";

export interface Segment {
  model: string;
  /** Share of the budget, 0..1. */
  share: number;
  label: string;
  state: string;
}

const GB = 1e9;

const GIB = 2 ** 30;

/** As the scheduler writes sizes: whole GiB as GiB (a budget), else decimal GB (a model). */
export function gb(bytes: number): string {
  if (bytes >= GIB && bytes % GIB === 0) return `${bytes / GIB} GiB`;
  return `${(bytes / GB).toFixed(1)} GB`;
}

/** The bar's segments and caption for a status. */
export function vramBar(view: SchedulerView): { segments: Segment[]; caption: string } {
  if (view.offline !== null) {
    return { segments: [], caption: "Ollama offline" };
  }
  const budget = Math.max(view.budget, 1);
  const segments = view.models.map((m) => ({
    model: m.model,
    share: Math.min(m.size / budget, 1),
    label: `${m.model} ${gb(m.size)}${m.pinned ? " (pinned)" : ""}${m.state === "loaded" ? "" : ` ${m.state}`}`,
    state: m.state,
  }));
  const queued = view.queues.reduce((n, [, k]) => n + k, 0);
  const caption = `VRAM ${gb(view.used)} / ${gb(view.budget)}${queued ? ` · ${queued} queued` : ""}`;
  return { segments, caption };
}

/** Draws the bar into `el`. */
export function renderVram(el: HTMLElement, view: SchedulerView): void {
  const { segments, caption } = vramBar(view);
  el.replaceChildren();
  el.title = view.offline ?? caption;
  el.classList.toggle("offline", view.offline !== null);
  const track = document.createElement("span");
  track.className = "vram-track";
  for (const s of segments) {
    const seg = document.createElement("span");
    seg.className = `vram-seg ${s.state}`;
    seg.style.width = `${(s.share * 100).toFixed(2)}%`;
    seg.title = s.label;
    seg.dataset.model = s.model;
    track.append(seg);
  }
  const text = document.createElement("span");
  text.className = "vram-caption";
  text.textContent = caption;
  el.append(track, text);
}

/** The view with the persona's model state from the scheduler (unchanged if not listed). */
export function withModelState(view: MorphView, status: SchedulerView): MorphView {
  const found = status.personas.find((p) => p.persona === view.object.name);
  if (!found || view.kind !== "persona") return view;
  const state: ModelState = found.state;
  return state === view.model_state ? view : { ...view, model_state: state };
}
