// The Playground's symbol box: a hypervector expression over a persona's symbols — names,
// `*` bind, `/` unbind, `+` bundle, parentheses — evaluated and cleaned up to the nearest
// symbols, each with its similarity (what `telos vsa query` prints).

import { commands, type Answer } from "../bindings";
import { call } from "../common/cycles";
import { button, fill, h } from "../common/dom";
import { hitLine } from "./model";

export function symbolsPanel(): HTMLElement {
  const panel = h("section", { class: "pg-symbols", testid: "vsa-panel" });
  const persona = h("input", {
    class: "pg-persona",
    testid: "vsa-persona",
    attrs: { value: "BABS", "aria-label": "Whose codebook", spellcheck: "false" },
  }) as HTMLInputElement;
  const expression = h("input", {
    class: "pg-expression",
    testid: "vsa-expression",
    attrs: { placeholder: "record1 / source", "aria-label": "Hypervector expression", spellcheck: "false" },
  }) as HTMLInputElement;
  let answer: Answer | null = null;
  let error: string | null = null;
  let busy = false;

  async function query(): Promise<void> {
    const text = expression.value.trim();
    if (busy || text === "") return;
    busy = true;
    render();
    const who = persona.value.trim();
    const r = await call(() => commands.vsaQuery(who === "" ? null : who, text, 5));
    busy = false;
    answer = r.ok ? r.data : null;
    error = r.ok ? null : r.message;
    render();
  }

  function render(): void {
    fill(
      panel,
      h("h2", { text: "Symbols" }),
      h(
        "div",
        { class: "pg-actions" },
        persona,
        expression,
        button(busy ? "Querying…" : "Query", () => void query(), {
          testid: "vsa-query",
          attrs: busy ? { disabled: "" } : {},
        }),
      ),
      error !== null && h("div", { class: "pg-entry failed", testid: "vsa-error" }, h("div", { class: "answer", text: error })),
      answer !== null &&
        h(
          "ol",
          { class: "pg-hits", testid: "vsa-hits" },
          h("li", { class: "muted", text: `${answer.expression} in ${answer.persona}'s codebook` }),
          ...(answer.hits.length === 0 ? [h("li", { class: "muted", text: "no symbols yet" })] : []),
          ...answer.hits.map((hit) => h("li", { testid: "vsa-hit", text: hitLine(hit) })),
        ),
    );
  }

  expression.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      void query();
    }
  });
  render();
  return panel;
}
