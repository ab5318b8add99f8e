// The Inspector's memory sections: an object's links (graph edges to other objects) and, for
// a persona, a search over what it remembers.

import { commands, type LinkView, type ObjRef, type Recalled } from "../bindings";
import { button, h, linkButton } from "../common/dom";
import { errorMessage } from "../common/cycles";

export function linksSection(links: LinkView[], navigate: (to: ObjRef) => void): HTMLElement | null {
  if (links.length === 0) return null;
  return h("section", { class: "section", testid: "links" },
    h("h2", { text: "Links", title: "Graph edges from this object, by relation" }),
    ...links.map((l) =>
      h("div", { class: "link-relation" },
        h("h3", { class: "small", text: `${l.relation} (${l.count})` }),
        h("ol", { class: "links", testid: `links-${l.relation}` },
          ...l.targets.map((t) => h("li", {}, linkButton(t.name || t.id, () => navigate(t), { title: `Inspect ${t.name}` }))),
          l.count > l.targets.length ? h("li", { class: "muted small", text: `… and ${l.count - l.targets.length} more` }) : null,
        ),
      ),
    ),
  );
}

/** The search box's state, kept per persona across re-renders. */
export interface MemorySearch {
  query: string;
  busy: boolean;
  results: Recalled[] | null;
  error: string | null;
}

export const emptySearch = (): MemorySearch => ({ query: "", busy: false, results: null, error: null });

export function memorySection(persona: string, s: MemorySearch, rerender: () => void): HTMLElement {
  const input = h("input", {
    class: "search",
    testid: "memory-query",
    attrs: { type: "search", placeholder: "Search what this persona remembers…", value: s.query },
  });
  input.value = s.query;
  const run = async (): Promise<void> => {
    // A re-render may have kept the live input in this one's place: the query is then the one
    // its input events kept in `s`.
    if (input.isConnected) s.query = input.value;
    if (!s.query.trim()) return;
    s.busy = true;
    s.error = null;
    rerender();
    const r = await commands.recall(persona, s.query, 5);
    s.busy = false;
    if (r.status === "ok") s.results = r.data;
    else s.error = errorMessage(r.error);
    rerender();
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") void run();
  });
  input.addEventListener("input", () => {
    s.query = input.value;
  });
  return h("section", { class: "section", testid: "memory" },
    h("h2", { text: "Memory" }),
    h("div", { class: "search-row" }, input, button(s.busy ? "Searching…" : "Search", () => void run(), { testid: "memory-search", attrs: s.busy ? { disabled: "" } : {} })),
    s.error ? h("div", { class: "message error", testid: "memory-error", text: s.error }) : null,
    s.results === null
      ? null
      : s.results.length === 0
        ? h("div", { class: "empty", text: "Nothing remembered matches." })
        : h("ol", { class: "recalled", testid: "memory-results" },
            ...s.results.map((r) =>
              h("li", {},
                h("div", { class: "small muted" },
                  `${r.score.toFixed(3)} · ${r.source.split("/").pop()} #${r.chunk_index}`,
                  r.page !== null ? ` · p.${r.page}` : null,
                ),
                h("div", { class: "recalled-text", text: r.text }),
              ),
            ),
          ),
  );
}
