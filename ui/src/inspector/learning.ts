// The Inspector's Learning section for a persona: its golden dataset (exchanges ALFRED scored
// at or above the threshold, with scores and rationales), its performance per week, its
// lineage of models with each ascension's report (approve / reject a pending one, revert the
// last promotion), and the actions: curate now, train, try a candidate model.

import { Channel } from "@tauri-apps/api/core";
import {
  commands,
  type Ascension,
  type AscensionEvent,
  type CurateEvent,
  type GoldenView,
  type Report,
  type TrainEvent,
  type WeekScore,
} from "../bindings";
import { errorMessage } from "../common/cycles";
import { button, h } from "../common/dom";
import { formatTime } from "../common/time";

/** The section's state, kept per persona across re-renders. */
export interface Learning {
  view: GoldenView | null;
  loading: boolean;
  /** What is running now, in words (curating 3/8, training step 4/60, …). */
  busy: string | null;
  error: string | null;
  candidate: string;
  steps: string;
}

export const emptyLearning = (): Learning => ({
  view: null,
  loading: false,
  busy: null,
  error: null,
  candidate: "trained",
  steps: "60",
});

const num = (x: number | null | undefined): number => (typeof x === "number" && Number.isFinite(x) ? x : 0);

/** One line for a report: wins–ties–losses, the win rate and its interval, the sign test. */
export function reportLine(r: Report): string {
  const flips = r.flipped > 0 ? ` (${r.flipped} flipped)` : "";
  return `${r.wins}–${r.ties}–${r.losses} (w–t–l)${flips} · win rate ${num(r.win_rate).toFixed(2)}, 95% ${num(r.low).toFixed(2)}–${num(r.high).toFixed(2)} · p = ${num(r.p_value).toFixed(3)}`;
}

/** The judge's length bias in words. */
export function lengthBias(r: Report): string {
  return r.length_bias === null
    ? "no decisive verdict to measure the judge's length bias"
    : `${Math.round(num(r.length_bias) * 100)}% of the judge's decisive verdicts went to the longer answer`;
}

/** Bars for the weeks: each mean out of 5, oldest first. */
export function weekBars(weeks: readonly WeekScore[]): { label: string; width: number; title: string }[] {
  return weeks.map((w) => {
    const mean = num(w.mean);
    const day = new Date(w.week).toISOString().slice(0, 10);
    return { label: day, width: Math.max(0, Math.min(100, (mean / 5) * 100)), title: `${mean.toFixed(2)} over ${w.exchanges} exchanges` };
  });
}

export function progressOf(e: CurateEvent | TrainEvent | AscensionEvent): string | null {
  switch (e.type) {
    case "started":
      return "exchanges" in e ? `ALFRED judges ${e.exchanges} exchanges…` : `training on ${e.base}: ${e.rows} rows, ${e.steps} steps…`;
    case "judged":
      return "persona" in e ? `judged ${e.done}/${e.of}: ${e.overall}/5` : `judged ${e.done}/${e.of}: ${e.outcome} for the candidate`;
    case "failed":
      return `judged ${e.done}/${e.of}: ${e.message}`;
    case "stage":
      return `${e.stage}…`;
    case "step":
      return `step ${e.step}/${e.steps}: loss ${num(e.loss).toFixed(3)}`;
    case "fetching":
      return e.total ? `${e.status}: ${Math.round((num(e.done) * 100) / e.total)}%` : e.status;
    case "cloned":
      return `${e.candidate} answers ${e.prompts} held-out prompts…`;
    case "answered":
      return `answered ${e.done}/${e.of}`;
  }
}

export async function loadLearning(persona: string, s: Learning, rerender: () => void): Promise<void> {
  s.loading = true;
  const r = await commands.golden(persona, null);
  s.loading = false;
  if (r.status === "ok") {
    s.view = r.data;
    s.error = null;
  } else s.error = errorMessage(r.error);
  rerender();
}

async function run<E>(
  persona: string,
  s: Learning,
  rerender: () => void,
  start: (channel: Channel<E>) => Promise<{ status: "ok" } | { status: "error"; error: unknown }>,
  toText: (e: E) => string | null,
): Promise<void> {
  const channel = new Channel<E>();
  channel.onmessage = (e) => {
    s.busy = toText(e) ?? s.busy;
    rerender();
  };
  s.error = null;
  const r = await start(channel);
  s.busy = null;
  if (r.status === "error") s.error = errorMessage(r.error);
  await loadLearning(persona, s, rerender);
}

function reportView(a: Ascension, act: (f: () => Promise<{ status: "ok" } | { status: "error"; error: unknown }>) => void): HTMLElement {
  const r = a.report;
  return h("article", { class: "ascension panel", testid: `ascension-${a.state}` },
    h("header", { class: "method-head" },
      h("span", { class: "mono", text: `${a.incumbent_model} → ${a.candidate_model}` }),
      h("span", { class: `badge badge-${a.state}`, text: a.state }),
      h("span", { class: "time muted", text: formatTime(a.at) }),
    ),
    h("div", { class: "small", testid: "report-line", text: reportLine(r) }),
    h("table", { class: "criteria small" },
      h("tr", {}, h("th", { text: "criterion" }), h("th", { text: a.persona }), h("th", { text: "candidate" }), h("th", { text: "change" })),
      ...r.criteria.map((c) =>
        h("tr", {},
          h("td", { text: c.name }),
          h("td", { text: num(c.incumbent).toFixed(2) }),
          h("td", { text: num(c.candidate).toFixed(2) }),
          h("td", { class: num(c.change) < -0.5 ? "error" : "", text: `${num(c.change) >= 0 ? "+" : ""}${num(c.change).toFixed(2)}` }),
        ),
      ),
    ),
    h("div", { class: "small muted", text: `latency p50/p95 ${Math.round(num(r.incumbent_latency.p50))}/${Math.round(num(r.incumbent_latency.p95))} ms → ${Math.round(num(r.candidate_latency.p50))}/${Math.round(num(r.candidate_latency.p95))} ms · fits the ${r.fit.runtime} budget: ${r.fit.fits ? "yes" : "no"} · ${lengthBias(r)}` }),
    h("div", { class: r.recommend ? "message" : "message error", testid: "recommendation", text: `${r.recommend ? "Recommended" : "Not recommended"}: ${r.why}` }),
    a.state === "pending"
      ? h("div", { class: "editor-actions" },
          button("Approve", () => act(() => commands.approveAscension(a.id)), { testid: "approve-ascension" }),
          button("Reject", () => act(() => commands.rejectAscension(a.id)), { testid: "reject-ascension" }),
        )
      : null,
  );
}

export function learningSection(persona: string, s: Learning, rerender: () => void): HTMLElement {
  if (!s.view && !s.loading && !s.error) void loadLearning(persona, s, rerender);
  const v = s.view;
  const act = (f: () => Promise<{ status: "ok" } | { status: "error"; error: unknown }>): void => {
    s.busy = "…";
    rerender();
    void f().then(async (r) => {
      s.busy = null;
      if (r.status === "error") s.error = errorMessage(r.error);
      await loadLearning(persona, s, rerender);
    });
  };
  const candidate = h("input", { testid: "candidate", attrs: { placeholder: "trained, gguf:NAME, an Ollama tag…", value: s.candidate } });
  candidate.value = s.candidate;
  candidate.addEventListener("input", () => (s.candidate = candidate.value));
  const steps = h("input", { class: "steps", testid: "train-steps", attrs: { type: "number", min: "1", value: s.steps } });
  steps.value = s.steps;
  steps.addEventListener("input", () => (s.steps = steps.value));
  const busy = s.busy !== null;
  const off: Record<string, string> = busy ? { disabled: "" } : {};
  // A promotion not reverted since can be reverted (the newest first).
  const lineage = v?.lineage.steps ?? [];
  const canRevert = lineage.some((st) => st.action === "promoted" && !lineage.some((r) => r.action === "reverted" && r.ascension === st.ascension));
  return h("section", { class: "section", testid: "learning" },
    h("h2", { text: "Learning", title: "ALFRED's judgements of this persona's exchanges, its golden dataset, and its models over time" }),
    s.error ? h("div", { class: "message error", testid: "learning-error", text: s.error }) : null,
    busy ? h("div", { class: "message", testid: "learning-busy", text: s.busy ?? "" }) : null,
    v === null
      ? h("div", { class: "empty", text: s.loading ? "Loading…" : "" })
      : h("div", { class: "learning" },
          h("div", { class: "small", testid: "golden-summary", text: `${v.golden.length} golden of ${v.evaluated} judged (score ${num(v.min_score)}+) · ${v.waiting} waiting for the Curator · judged by: ${v.rubric.join(", ")}` }),
          h("div", { class: "editor-actions" },
            button("Curate now", () => void run<CurateEvent>(persona, s, rerender, (c) => commands.curate(persona, c), progressOf), { testid: "curate", attrs: off }),
            h("span", { class: "muted small", text: "steps" }), steps,
            button("Train", () => void run<TrainEvent>(persona, s, rerender, (c) => commands.train(persona, Math.max(1, Number(s.steps) || 60), c), progressOf), { testid: "train", attrs: off }),
            candidate,
            button("Try model", () => void run<AscensionEvent>(persona, s, rerender, (c) => commands.ascend(persona, s.candidate.trim(), c), progressOf), { testid: "ascend", attrs: off }),
          ),
          v.performance.length === 0
            ? null
            : h("div", { class: "weeks", testid: "performance" },
                h("h3", { class: "small", text: "Mean score per week" }),
                ...weekBars(v.performance).map((b) =>
                  h("div", { class: "week", title: b.title },
                    h("span", { class: "muted small", text: b.label }),
                    h("span", { class: "bar", attrs: { style: `width:${b.width}%` } }),
                    h("span", { class: "small", text: b.title.split(" ")[0] }),
                  ),
                ),
              ),
          h("h3", { class: "small", text: `Lineage: thinks with ${v.lineage.model}` }),
          v.lineage.steps.length === 0
            ? null
            : h("ol", { class: "lineage small", testid: "lineage" },
                ...v.lineage.steps.map((st) => h("li", { text: `${formatTime(st.at)} ${st.action}: ${st.from} → ${st.model}` })),
              ),
          canRevert ? button("Revert the last promotion", () => act(() => commands.revertAscension(persona)), { testid: "revert-ascension", attrs: off }) : null,
          ...v.lineage.ascensions.map((a) => reportView(a, act)),
          h("h3", { class: "small", text: `Golden dataset (${v.golden.length})` }),
          v.golden.length === 0
            ? h("div", { class: "empty", text: "No golden exchanges yet." })
            : h("ol", { class: "golden", testid: "golden" },
                ...v.golden.slice(0, 50).map((e) =>
                  h("li", {},
                    h("div", { class: "small" },
                      h("span", { class: "badge badge-plain", text: `${e.overall}/5` }), " ",
                      Object.entries(e.scores).map(([k, x]) => `${k} ${x}`).join(" · "),
                      h("span", { class: "muted", text: ` · ${e.source} · ${formatTime(e.at)}` }),
                    ),
                    h("div", { class: "recalled-text", text: e.messages.filter((m) => m.role === "user").at(-1)?.content ?? "" }),
                    h("div", { class: "recalled-text muted", text: e.messages.at(-1)?.content ?? "" }),
                    h("div", { class: "small rationale", text: `ALFRED: ${e.rationale}` }),
                  ),
                ),
              ),
        ),
  );
}
