// The Inspector's memory sections: an object's links (graph edges to other objects) and, for
// a persona, a search over what it remembers and the concepts it has formed.

import { commands, type Concept, type LinkView, type ObjRef, type Recalled } from "../bindings";
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

/** A persona's concepts as last loaded (null: not loaded yet). */
export interface ConceptList {
  loaded: Concept[] | null;
  busy: boolean;
  error: string | null;
}

export const emptyConcepts = (): ConceptList => ({ loaded: null, busy: false, error: null });

/** What a concept's row says: its name (or that it has none yet) and its size. */
export function conceptLine(c: Concept): { name: string; size: string; stale: boolean } {
  const name = c.label ?? "(not named yet)";
  const docs = c.documents === 1 ? "1 document" : `${c.documents} documents`;
  const chunks = c.size === 1 ? "1 chunk" : `${c.size} chunks`;
  return { name, size: `${chunks} from ${docs}`, stale: c.label !== null && c.needs_name };
}

export async function loadConcepts(persona: string, s: ConceptList, rerender: () => void): Promise<void> {
  s.busy = true;
  rerender();
  const r = await commands.concepts(persona);
  s.busy = false;
  if (r.status === "ok") {
    s.loaded = r.data;
    s.error = null;
  } else s.error = errorMessage(r.error);
  rerender();
}

/** The persona's concepts, largest first; each opens its concept object (whose links are its chunks). */
export function conceptsSection(persona: string, s: ConceptList, rerender: () => void, navigate: (to: ObjRef) => void): HTMLElement {
  const list = s.loaded ?? [];
  return h("section", { class: "section", testid: "concepts" },
    h("h2", { text: `Concepts${s.loaded ? ` (${list.length})` : ""}`, title: "What this persona's memories are about: chunks grouped as they are remembered, named by BABS" }),
    h("div", { class: "search-row" }, button(s.busy ? "Loading…" : "Refresh", () => void loadConcepts(persona, s, rerender), { testid: "concepts-refresh", attrs: s.busy ? { disabled: "" } : {} })),
    s.error ? h("div", { class: "message error", testid: "concepts-error", text: s.error }) : null,
    s.loaded !== null && list.length === 0
      ? h("div", { class: "empty", text: "No concepts yet: they grow as this persona remembers documents." })
      : h("ol", { class: "concepts", testid: "concept-list" },
          ...list.map((c) => {
            const line = conceptLine(c);
            return h("li", { testid: "concept" },
              h("div", {},
                linkButton(line.name, () => navigate({ id: c.id, name: line.name }), { title: "Inspect this concept and its chunks" }),
                h("span", { class: "small muted", text: ` · ${line.size}${line.stale ? " · to be named again" : ""}` }),
              ),
              c.definition ? h("div", { class: "recalled-text", text: c.definition }) : null,
            );
          }),
        ),
  );
}
