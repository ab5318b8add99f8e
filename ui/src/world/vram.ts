// The memory bars: what the schedulers hold, per model, against each budget — Ollama's models
// in the GPU's memory (VRAM), the embedded runtime's in this machine's (RAM).

import type { HostView, LoadedModelView, MorphView, SchedulerView } from "../bindings";

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

/** One bar's segments and caption: `models` against `budget`. */
function memoryBar(
  name: string,
  models: LoadedModelView[],
  used: number,
  budget: number,
  queued: number,
): { segments: Segment[]; caption: string } {
  const whole = Math.max(budget, 1);
  const segments = models.map((m) => ({
    model: m.model,
    share: Math.min(m.size / whole, 1),
    label: `${m.model} ${gb(m.size)}${m.pinned ? " (pinned)" : ""}${m.state === "loaded" ? "" : ` ${m.state}`}`,
    state: m.state,
  }));
  const caption = `${name} ${gb(used)} / ${gb(budget)}${queued ? ` · ${queued} queued` : ""}`;
  return { segments, caption };
}

function queuedFor(view: SchedulerView, models: LoadedModelView[] | null): number {
  return view.queues
    .filter(([m]) => models === null || models.some((x) => x.model === m))
    .reduce((n, [, k]) => n + k, 0);
}

/** The VRAM bar's segments and caption (Ollama's models). */
export function vramBar(view: SchedulerView): { segments: Segment[]; caption: string } {
  if (view.offline !== null) {
    return { segments: [], caption: "Ollama offline" };
  }
  // What waits for the embedded runtime or another host's model is counted there.
  const elsewhere = [...(view.embedded?.models ?? []), ...view.more_hosts.flatMap((h) => h.models)];
  const queued = view.queues
    .filter(([m]) => !elsewhere.some((x) => x.model === m))
    .reduce((n, [, k]) => n + k, 0);
  // With several hosts each bar is named by its host alone (its title says VRAM).
  const name = view.more_hosts.length > 0 ? hostName(view.host) : "VRAM";
  return memoryBar(name, view.models, view.used, view.budget, queued);
}

/** The RAM bar's segments and caption (the embedded runtime's models); null without one. */
export function ramBar(view: SchedulerView): { segments: Segment[]; caption: string } | null {
  const e = view.embedded;
  if (!e) return null;
  return memoryBar("RAM", e.models, e.used, e.budget, queuedFor(view, e.models));
}

function draw(el: HTMLElement, bar: { segments: Segment[]; caption: string }, title: string): void {
  const { segments, caption } = bar;
  el.replaceChildren();
  el.title = title;
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

/** Draws the VRAM bar into `el`. */
export function renderVram(el: HTMLElement, view: SchedulerView): void {
  const bar = vramBar(view);
  const several = view.more_hosts.length > 0;
  draw(el, bar, view.offline ?? (several ? `VRAM on ${view.host}: ${bar.caption}` : bar.caption));
  el.classList.toggle("offline", view.offline !== null);
}

/** `http://gpu2:11434` as `gpu2`, `http://gpu3:8080/` as `gpu3:8080`: a host's name in a
 * caption (Ollama's own port left out). */
export function hostName(url: string): string {
  return url
    .replace(/^[a-z]+:\/\//, "")
    .replace(/\/+$/, "")
    .replace(/:11434$/, "");
}

/** The VRAM bar of another Ollama host (`OLLAMA_HOSTS` past the first). */
export function hostBar(view: SchedulerView, host: HostView): { segments: Segment[]; caption: string } {
  if (host.offline !== null) {
    return { segments: [], caption: `${hostName(host.host)} offline` };
  }
  return memoryBar(hostName(host.host), host.models, host.used, host.budget, queuedFor(view, host.models));
}

/** Draws one VRAM bar per Ollama host past the first into `el` (nothing with one host), and
 * marks the toolbar holding it crowded while there are several (narrower bars, no hint). */
export function renderHosts(el: HTMLElement, view: SchedulerView): void {
  el.closest(".toolbar")?.classList.toggle("crowded", view.more_hosts.length > 0);
  el.replaceChildren(
    ...view.more_hosts.map((h) => {
      const span = document.createElement("span");
      span.className = "vram";
      span.dataset.host = h.host;
      const bar = hostBar(view, h);
      draw(span, bar, h.offline ?? `VRAM on ${h.host}: ${bar.caption}`);
      span.classList.toggle("offline", h.offline !== null);
      return span;
    }),
  );
}

/** Draws the RAM bar into `el` (hidden without an embedded runtime). */
export function renderRam(el: HTMLElement, view: SchedulerView): void {
  const bar = ramBar(view);
  el.classList.toggle("hidden", bar === null);
  if (bar) draw(el, bar, `${view.embedded?.host ?? "embedded"}: ${bar.caption}`);
}

/** The view with the persona's route and model state from the scheduler (unchanged if not listed). */
export function withModelState(view: MorphView, status: SchedulerView): MorphView {
  const found = status.personas.find((p) => p.persona === view.object.name);
  if (!found || view.kind !== "persona") return view;
  const same =
    found.state === view.model_state &&
    found.model === view.model &&
    found.runtime === view.runtime &&
    found.fallback === view.fallback;
  if (same) return view;
  return { ...view, model_state: found.state, model: found.model, runtime: found.runtime, fallback: found.fallback };
}
