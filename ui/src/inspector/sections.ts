// The Inspector's read-only sections: parents, methods, and the cycles that touched it.

import type { CycleSummary, MethodView, ObjRef } from "../bindings";
import { badge, button, h, linkButton } from "../common/dom";
import { excerpt } from "../common/json";
import { formatFullTime, formatTime } from "../common/time";

export function parentsSection(parents: ObjRef[], navigate: (to: ObjRef) => void): HTMLElement {
  const chain =
    parents.length === 0
      ? h("div", { class: "empty", text: "No parents: a root object." })
      : h("ol", { class: "parents", testid: "parents" },
          ...parents.map((p, i) =>
            h("li", {},
              linkButton(p.name || p.id, () => navigate(p), {
                testid: `parent-link-${p.id}`,
                title: `Inspect ${p.name || p.id} (priority ${i + 1}) in this window`,
              }),
            ),
          ),
        );
  return h("section", { class: "section" },
    h("h2", { text: "Parents", title: "Looked up in this order when a slot or method is not found here" }),
    chain,
  );
}

export function methodsSection(methods: MethodView[], openCycle: (id: string) => void): HTMLElement {
  return h("section", { class: "section", testid: "methods" },
    h("h2", { text: `Methods (${methods.length})` }),
    methods.length === 0
      ? h("div", { class: "empty", text: "No methods of its own." })
      : h("div", { class: "methods" }, ...methods.map((m) => method(m, openCycle))),
  );
}

function method(m: MethodView, openCycle: (id: string) => void): HTMLElement {
  const provenance = h("div", { class: "provenance muted small" },
    `by ${m.author || "unknown"}`,
    m.model ? ` · model ${m.model}` : null,
    m.cycle ? " · cycle " : null,
    m.cycle
      ? linkButton(shortId(m.cycle), () => openCycle(m.cycle ?? ""), {
          class: "mono",
          title: `Open cycle ${m.cycle} in the Debugger`,
          testid: `method-cycle-${m.selector}`,
        })
      : null,
  );
  return h("article", { class: "method panel", testid: `method-${m.selector}` },
    h("header", { class: "method-head" },
      h("span", { class: "selector mono", text: m.selector }),
      h("span", { class: "badge badge-plain", text: m.language || "?" }),
    ),
    m.doc ? h("p", { class: "doc", text: m.doc }) : null,
    h("pre", { class: "source", testid: `method-source-${m.selector}`, text: m.source }),
    m.test
      ? h("details", { class: "test" },
          h("summary", { text: "Test" }),
          h("pre", { testid: `method-test-${m.selector}`, text: m.test }),
        )
      : h("div", { class: "muted small", text: "No test." }),
    provenance,
  );
}

export function cyclesSection(cycles: CycleSummary[], openCycle: (id: string) => void): HTMLElement {
  return h("section", { class: "section", testid: "object-cycles" },
    h("h2", { text: "Cycles that touched it" }),
    cycles.length === 0
      ? h("div", { class: "empty", text: "None recorded." })
      : h("ul", { class: "cycles" },
          ...cycles.map((c) =>
            h("li", {},
              h("button", {
                class: "cycle-link",
                testid: `cycle-link-${c.id}`,
                data: { state: c.state },
                title: `${c.trigger} — ${formatFullTime(c.started)}\nOpen in the Debugger`,
                attrs: { type: "button" },
                on: { click: () => openCycle(c.id) },
              },
                badge(c.state),
                h("span", { class: "trigger", text: c.trigger }),
                h("span", { class: "time muted", text: formatTime(c.started) }),
                c.error ? h("span", { class: "err error", text: excerpt(c.error, 70) }) : null,
              ),
            ),
          ),
        ),
  );
}

/** The head of a long id, enough to tell cycles apart at a glance. */
export function shortId(id: string): string {
  return id.length > 12 ? `${id.slice(0, 10)}…` : id;
}

/** The header's "Debugger" button. */
export function debuggerButton(open: () => void): HTMLButtonElement {
  return button("Debugger", open, { testid: "open-debugger", title: "Open the Debugger window" });
}
