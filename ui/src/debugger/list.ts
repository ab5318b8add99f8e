// The Debugger's left pane: cycle history with "All" / "Suspended" tabs.

import type { CycleSummary } from "../bindings";
import { filterCycles, type CycleFilter } from "../common/cycles";
import { badge, h } from "../common/dom";
import { excerpt } from "../common/json";
import { formatFullTime, formatTime } from "../common/time";

export type ListModel = {
  cycles: CycleSummary[];
  filter: CycleFilter;
  selected: string | null;
  error: string | null;
  loaded: boolean;
};

export type ListActions = {
  setFilter(filter: CycleFilter): void;
  select(id: string): void;
  retry(): void;
};

export function listPane(model: ListModel, actions: ListActions): HTMLElement[] {
  const suspended = model.cycles.filter((c) => c.state === "suspended").length;
  const tab = (filter: CycleFilter, label: string, count: number) =>
    h("button", {
      class: `tab${model.filter === filter ? " active" : ""}`,
      testid: `filter-${filter}`,
      attrs: { type: "button", role: "tab", "aria-selected": String(model.filter === filter) },
      on: { click: () => actions.setFilter(filter) },
    },
      label,
      h("span", { class: `count${filter === "suspended" && count > 0 ? " attention" : ""}`, text: String(count) }),
    );
  const tabs = h("div", { class: "tabs", attrs: { role: "tablist" } },
    tab("all", "All", model.cycles.length),
    tab("suspended", "Suspended", suspended),
  );

  const shown = filterCycles(model.cycles, model.filter);
  let body: HTMLElement;
  if (model.error) {
    body = h("div", { class: "list-error" },
      h("div", { class: "message error", testid: "list-error", text: `Could not load the cycles: ${model.error}` }),
      h("button", { text: "Retry", attrs: { type: "button" }, on: { click: actions.retry } }),
    );
  } else if (!model.loaded) {
    body = h("div", { class: "empty", text: "Loading…" });
  } else if (shown.length === 0) {
    body = h("div", { class: "empty", testid: "list-empty", text: model.filter === "suspended" ? "No suspended cycles: nothing is waiting for you." : "No cycles yet." });
  } else {
    body = h("ul", {
      class: "cycle-list",
      testid: "cycle-list",
      attrs: { role: "listbox", "aria-label": "Cycles, newest first" },
      on: { keydown: (e) => moveSelection(e, shown, model.selected, actions) },
    }, ...shown.map((c) => row(c, c.id === model.selected, actions)));
  }
  return [tabs, body];
}

function row(c: CycleSummary, selected: boolean, actions: ListActions): HTMLElement {
  return h("li", {
    class: `cycle-row${selected ? " selected" : ""}`,
    testid: `cycle-row-${c.id}`,
    data: { state: c.state, selected: String(selected) },
    title: `${c.trigger}\n${formatFullTime(c.started)}\n${c.id}`,
    attrs: { role: "option", "aria-selected": String(selected), tabindex: selected ? "0" : "-1" },
    on: { click: () => actions.select(c.id) },
  },
    h("div", { class: "row-top" },
      badge(c.state),
      h("span", { class: "trigger", text: c.trigger }),
    ),
    h("div", { class: "row-meta muted small" },
      h("span", { text: formatTime(c.started) }),
      h("span", { text: `${c.objects} object${c.objects === 1 ? "" : "s"}` }),
    ),
    c.error ? h("div", { class: "row-error error small", text: excerpt(c.error, 90) }) : null,
  );
}

function moveSelection(e: KeyboardEvent, shown: CycleSummary[], selected: string | null, actions: ListActions): void {
  if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
  e.preventDefault();
  const at = shown.findIndex((c) => c.id === selected);
  const next = shown[e.key === "ArrowDown" ? Math.min(shown.length - 1, at + 1) : Math.max(0, at - 1)];
  if (next && next.id !== selected) {
    actions.select(next.id);
    requestAnimationFrame(() => {
      const el = document.querySelector<HTMLElement>(`[data-testid="${CSS.escape(`cycle-row-${next.id}`)}"]`);
      el?.focus();
      el?.scrollIntoView({ block: "nearest" });
    });
  }
}
