// The Inspector's slots table: values collapsed or expanded, inline JSON editors, a new slot.

import { commands, type SlotView } from "../bindings";
import { call } from "../common/cycles";
import { autosize, button, h, on } from "../common/dom";
import { checkJson, excerpt, isCollapsible, prettyJson } from "../common/json";
import { checkSlotName } from "../common/object";

/** An open slot editor. It outlives reloads so that what the user types is never lost. */
export type Editor = {
  text: string;
  error: string | null;
  busy: boolean;
  /** The slot's JSON when editing began (`null`: the slot did not exist). */
  original: string | null;
};

export type NewSlot = { name: string; text: string; error: string | null; busy: boolean };

/** What the table shows, kept per object across reloads. */
export type SlotsState = {
  editors: Map<string, Editor>;
  expanded: Set<string>;
  add: NewSlot;
};

export const emptySlotsState = (): SlotsState => ({
  editors: new Map(),
  expanded: new Set(),
  add: { name: "", text: "", error: null, busy: false },
});

export type SlotsContext = {
  objectId: string;
  slots: SlotView[];
  state: SlotsState;
  /** Draws the page again from state. */
  rerender(): void;
  /** Fetches the object again, then draws. */
  reload(): Promise<void>;
  /** A short confirmation for the status line. */
  notify(text: string): void;
};

const editorText = (slot: SlotView) => (isCollapsible(slot.json) ? prettyJson(slot.json) : slot.json);

export function slotsSection(ctx: SlotsContext): HTMLElement {
  const { slots, state } = ctx;
  const body = h("tbody");
  for (const slot of slots) {
    body.append(slotRow(ctx, slot));
    const editor = state.editors.get(slot.name);
    if (editor) body.append(editorRow(ctx, slot.name, editor, slot.json));
  }
  // Editors whose slot went away while the user was typing: keep them, say what happened.
  for (const [name, editor] of state.editors) {
    if (slots.some((s) => s.name === name)) continue;
    body.append(
      h("tr", { class: "slot-row gone", testid: `slot-row-${name}` },
        h("td", { class: "slot-name mono", text: name }),
        h("td", {}, h("span", { class: "badge badge-plain", text: "removed" })),
        h("td", { class: "muted", text: "This slot was removed while you were editing it; saving creates it again." }),
        h("td"),
      ),
      editorRow(ctx, name, editor, null),
    );
  }
  body.append(newSlotRow(ctx));
  return h("section", { class: "section", testid: "slots" },
    h("h2", { text: `Slots (${slots.length})` }),
    h("table", { class: "slots", testid: "slots-table" },
      h("thead", {},
        h("tr", {}, h("th", { text: "Name" }), h("th", { text: "Kind" }), h("th", { text: "Value" }), h("th")),
      ),
      body,
    ),
  );
}

function slotRow(ctx: SlotsContext, slot: SlotView): HTMLTableRowElement {
  const { state } = ctx;
  const collapsible = isCollapsible(slot.json);
  const expanded = collapsible && state.expanded.has(slot.name);
  const toggle = () => {
    if (expanded) state.expanded.delete(slot.name);
    else state.expanded.add(slot.name);
    ctx.rerender();
  };
  const value = expanded
    ? h("pre", { class: "slot-json", text: prettyJson(slot.json) })
    : h("code", { class: "slot-json", text: collapsible ? excerpt(slot.json) : slot.json });
  value.dataset.testid = `slot-value-${slot.name}`;
  value.dataset.json = slot.json;
  value.dataset.expanded = String(expanded);
  const cell = collapsible
    ? h("td", { class: "slot-value" }, h("div", {
        class: "collapsible",
        title: expanded ? "Click to collapse" : "Click to expand",
        attrs: { role: "button", tabindex: "0", "aria-expanded": String(expanded) },
        on: {
          click: (e) => {
            // Let people select text in an expanded value without collapsing it.
            if (expanded && window.getSelection()?.toString()) return;
            e.preventDefault();
            toggle();
          },
          keydown: (e) => {
            if (e.key === "Enter" || e.key === " ") {
              e.preventDefault();
              toggle();
            }
          },
        },
      },
        h("span", { class: "twisty", text: expanded ? "▾" : "▸" }),
        value,
      ))
    : h("td", { class: "slot-value" }, value);
  const editing = state.editors.has(slot.name);
  return h("tr", { class: `slot-row${editing ? " editing" : ""}`, testid: `slot-row-${slot.name}`, data: { kind: slot.kind } },
    h("td", { class: "slot-name mono", text: slot.name }),
    h("td", {}, h("span", { class: `kind kind-${slot.kind}`, text: slot.kind })),
    cell,
    h("td", { class: "slot-actions" },
      editing
        ? null
        : button("Edit", () => {
            state.editors.set(slot.name, { text: editorText(slot), error: null, busy: false, original: slot.json });
            ctx.rerender();
            focusEditor(`slot-editor-${slot.name}`);
          }, { testid: `slot-edit-${slot.name}`, title: `Edit ${slot.name} as JSON` }),
    ),
  );
}

function editorRow(ctx: SlotsContext, name: string, editor: Editor, current: string | null): HTMLTableRowElement {
  const ta = h("textarea", {
    class: editor.error ? "invalid" : "",
    testid: `slot-editor-${name}`,
    attrs: { spellcheck: "false", "aria-label": `JSON value of ${name}` },
  });
  ta.value = editor.text;
  ta.readOnly = editor.busy;
  autosize(ta);
  on(ta, "input", (e) => {
    const t = e.currentTarget as HTMLTextAreaElement; // the live one (see `fill`)
    editor.text = t.value;
    autosize(t);
  });
  on(ta, "keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void saveSlot(ctx, name, editor);
    } else if (e.key === "Escape") {
      e.preventDefault();
      cancel(ctx, name);
    }
  });
  const changedMeanwhile = current !== null && editor.original !== null && current !== editor.original;
  return h("tr", { class: "editor-row", testid: `slot-editor-row-${name}` },
    h("td", { attrs: { colspan: "4" } },
      ta,
      editor.error ? h("div", { class: "field-error", testid: `slot-error-${name}`, attrs: { role: "alert" }, text: editor.error }) : null,
      changedMeanwhile
        ? h("div", { class: "note", testid: `slot-changed-${name}`, text: `Changed elsewhere since you began editing; it is now ${excerpt(current, 50)}. Saving replaces it.` })
        : null,
      h("div", { class: "editor-actions" },
        button(editor.busy ? "Saving…" : "Save", () => void saveSlot(ctx, name, editor), {
          class: "primary",
          testid: `slot-save-${name}`,
          attrs: editor.busy ? { disabled: "" } : {},
        }),
        button("Cancel", () => cancel(ctx, name), { testid: `slot-cancel-${name}` }),
        h("span", { class: "muted small", text: "Ctrl+Enter saves · Esc cancels" }),
      ),
    ),
  );
}

function cancel(ctx: SlotsContext, name: string): void {
  ctx.state.editors.delete(name);
  ctx.rerender();
  document.querySelector<HTMLElement>(`[data-testid="${CSS.escape(`slot-edit-${name}`)}"]`)?.focus();
}

async function saveSlot(ctx: SlotsContext, name: string, editor: Editor): Promise<void> {
  if (editor.busy) return;
  const problem = checkJson(editor.text);
  if (problem) {
    editor.error = `Not valid JSON: ${problem.message}. Nothing was saved.`;
    ctx.rerender();
    return;
  }
  editor.busy = true;
  editor.error = null;
  ctx.rerender();
  const r = await call(() => commands.setSlot(ctx.objectId, name, editor.text));
  editor.busy = false;
  if (!r.ok) {
    editor.error = r.message;
    ctx.rerender();
    return;
  }
  // Close this editor only if it is still the one we saved (not reopened meanwhile).
  if (ctx.state.editors.get(name) === editor) ctx.state.editors.delete(name);
  ctx.notify(`Saved slot ${name}`);
  await ctx.reload();
}

function newSlotRow(ctx: SlotsContext): HTMLTableRowElement {
  const add = ctx.state.add;
  const name = h("input", { class: "mono", testid: "add-slot-name", attrs: { placeholder: "new slot", "aria-label": "New slot name", spellcheck: "false" } });
  name.value = add.name;
  name.readOnly = add.busy;
  on(name, "input", (e) => (add.name = (e.currentTarget as HTMLInputElement).value));
  const value = h("textarea", {
    testid: "add-slot-value",
    attrs: { placeholder: 'JSON value, e.g. 42, "text", [1, 2], {"a": 1}', "aria-label": "New slot value (JSON)", spellcheck: "false" },
  });
  value.value = add.text;
  value.readOnly = add.busy;
  autosize(value, 12);
  on(value, "input", (e) => {
    const t = e.currentTarget as HTMLTextAreaElement;
    add.text = t.value;
    autosize(t, 12);
  });
  const onKey = (e: KeyboardEvent) => {
    const inName = (e.currentTarget as HTMLElement).dataset.testid === "add-slot-name";
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey || inName)) {
      e.preventDefault();
      void addSlot(ctx);
    } else if (e.key === "Escape" && (add.name || add.text || add.error)) {
      e.preventDefault();
      ctx.state.add = { name: "", text: "", error: null, busy: false };
      ctx.rerender();
    }
  };
  on(name, "keydown", onKey);
  on(value, "keydown", onKey);
  return h("tr", { class: "add-row", testid: "add-slot" },
    h("td", {}, name),
    h("td", { class: "muted small", text: "new" }),
    h("td", {},
      value,
      add.error ? h("div", { class: "field-error", testid: "add-slot-error", attrs: { role: "alert" }, text: add.error }) : null,
    ),
    h("td", { class: "slot-actions" },
      button(add.busy ? "Adding…" : "Add slot", () => void addSlot(ctx), {
        testid: "add-slot-save",
        attrs: add.busy ? { disabled: "" } : {},
      }),
    ),
  );
}

async function addSlot(ctx: SlotsContext): Promise<void> {
  const add = ctx.state.add;
  if (add.busy) return;
  const nameProblem = checkSlotName(add.name, ctx.slots);
  const problem = nameProblem ? null : checkJson(add.text);
  if (nameProblem || problem) {
    add.error = nameProblem ?? `Not valid JSON: ${problem?.message}. Nothing was saved.`;
    ctx.rerender();
    return;
  }
  add.busy = true;
  add.error = null;
  ctx.rerender();
  const r = await call(() => commands.setSlot(ctx.objectId, add.name, add.text));
  add.busy = false;
  if (!r.ok) {
    add.error = r.message;
    ctx.rerender();
    return;
  }
  ctx.notify(`Added slot ${add.name}`);
  ctx.state.add = { name: "", text: "", error: null, busy: false };
  await ctx.reload();
}

function focusEditor(testid: string): void {
  const ta = document.querySelector<HTMLTextAreaElement>(`[data-testid="${CSS.escape(testid)}"]`);
  if (!ta) return;
  ta.focus();
  ta.setSelectionRange(ta.value.length, ta.value.length);
}
