// The Models dialog (from the toolbar): every model of both runtimes — Ollama's installed ones
// and the embedded runtime's GGUF files — with size, loaded or not and who uses each, and a
// pull of an `hf:` file or an Ollama tag with its progress.

import type { ModelView, PullProgress } from "../bindings";
import { gb } from "./vram";

/** Bytes as GB from a gigabyte up, else as whole MB. */
function size(bytes: number): string {
  return bytes >= 1e9 ? gb(bytes) : `${Math.round(bytes / 1e6)} MB`;
}

/** One row's cells: name, runtime, size, state, personas (or why the file cannot be used). */
export function modelRow(m: ModelView): string[] {
  const who = m.problem ? `cannot be used: ${m.problem}` : m.personas.join(", ") || "—";
  return [m.name, m.runtime, m.size ? size(m.size) : "?", m.loaded ? "loaded" : "", who];
}

/** A pull's progress as one line: `fetching 12.3 GB of 40.0 GB (31%)`. */
export function pullText(p: PullProgress): string {
  if (p.done !== null && p.total !== null && p.total > 0) {
    const pct = Math.floor((p.done / p.total) * 100);
    return `${p.status} ${size(p.done)} of ${size(p.total)} (${pct}%)`;
  }
  if (p.done !== null) return `${p.status} ${size(p.done)}`;
  return p.status;
}

/** A name `telos models pull` takes: `hf:OWNER/REPO/FILE.gguf[@REV]` or an Ollama tag. */
export function pullable(name: string): string | null {
  const n = name.trim();
  if (!n || /\s/.test(n)) return "write hf:OWNER/REPO/FILE.gguf or an Ollama tag such as phi3:3.8b";
  if (n.startsWith("gguf:")) return "a gguf: model is a file: copy it into the models folder";
  if (n.startsWith("hf:") && !/^hf:[^/]+\/[^/]+\/.+\.gguf(@[^/@]+)?$/.test(n)) {
    return "write hf:OWNER/REPO/FILE.gguf (optionally @REVISION)";
  }
  return null;
}

/**
 * Shows the dialog with `models`; `pull` fetches a name, reporting progress, and resolves with
 * an error message or null; the list is then reloaded with `reload`.
 */
export function showModels(
  models: ModelView[],
  pull: (name: string, progress: (p: PullProgress) => void) => Promise<string | null>,
  reload: () => Promise<ModelView[]>,
): void {
  document.querySelector(".backdrop.models")?.remove();
  const backdrop = document.createElement("div");
  backdrop.className = "backdrop models";
  const dialog = document.createElement("div");
  dialog.className = "dialog models";
  dialog.dataset.testid = "models";
  const title = document.createElement("p");
  title.textContent = "Models of both runtimes. A persona's model is set in its codex (or its model slot).";
  const table = document.createElement("table");
  const fill = (list: ModelView[]) => {
    table.replaceChildren();
    for (const m of list) {
      const tr = document.createElement("tr");
      tr.dataset.testid = `model-${m.name}`;
      if (m.problem) tr.className = "problem";
      for (const cell of modelRow(m)) {
        const td = document.createElement("td");
        td.textContent = cell;
        tr.append(td);
      }
      table.append(tr);
    }
  };
  fill(models);
  const row = document.createElement("div");
  row.className = "choices";
  const input = document.createElement("input");
  input.placeholder = "hf:OWNER/REPO/FILE.gguf or an Ollama tag";
  input.dataset.testid = "pull-name";
  const go = document.createElement("button");
  go.textContent = "Pull";
  go.dataset.testid = "pull";
  const status = document.createElement("p");
  status.className = "status";
  status.dataset.testid = "pull-status";
  go.addEventListener("click", async () => {
    const name = input.value.trim();
    const bad = pullable(name);
    if (bad) {
      status.textContent = bad;
      return;
    }
    go.disabled = true;
    status.textContent = `${name}: starting`;
    const error = await pull(name, (p) => (status.textContent = `${name}: ${pullText(p)}`));
    status.textContent = error ? `${name}: ${error}` : `${name}: pulled`;
    go.disabled = false;
    fill(await reload());
  });
  row.append(input, go);
  const close = document.createElement("button");
  close.textContent = "Close";
  close.className = "secondary";
  close.addEventListener("click", () => backdrop.remove());
  dialog.append(title, table, row, status, close);
  backdrop.append(dialog);
  document.body.append(backdrop);
}
