// Dissonance: a persona with a suspended cycle shows a red pill on its morph; clicking it
// opens the Debugger on that cycle.

import type { Dissonance } from "../bindings";
import type { Morph } from "../morphic";

export class DissonancePills {
  private pills = new Map<string, { el: HTMLButtonElement; cycle: string }>();

  constructor(
    private readonly overlay: HTMLElement,
    private readonly open: (cycle: string) => void,
  ) {}

  /** Shows exactly the personas in `list` (by object id). */
  set(list: Dissonance[]): void {
    const keep = new Set(list.map((d) => d.persona));
    for (const [id, pill] of this.pills) {
      if (!keep.has(id)) {
        pill.el.remove();
        this.pills.delete(id);
      }
    }
    for (const d of list) {
      let pill = this.pills.get(d.persona);
      if (!pill) {
        const el = document.createElement("button");
        el.className = "dissonance";
        el.textContent = "dissonance";
        el.dataset.testid = `dissonance-${d.name}`;
        // Hidden until placed on its morph (the world may not have drawn it yet).
        el.hidden = true;
        el.addEventListener("click", () => {
          const p = this.pills.get(d.persona);
          if (p) this.open(p.cycle);
        });
        this.overlay.append(el);
        pill = { el, cycle: d.cycle };
        this.pills.set(d.persona, pill);
      }
      pill.cycle = d.cycle;
      pill.el.dataset.cycle = d.cycle;
      pill.el.title = `${d.name} has a suspended cycle (${d.trigger}): open it in the Debugger`;
    }
  }

  ids(): string[] {
    return [...this.pills.keys()];
  }

  /** On the morph's top right corner. */
  place(id: string, morph: Morph): void {
    const pill = this.pills.get(id);
    if (!pill) return;
    const x = morph.x + morph.width - pill.el.offsetWidth + 6;
    pill.el.hidden = false;
    pill.el.style.transform = `translate(${Math.max(0, x)}px, ${Math.max(0, morph.y - 10)}px)`;
    pill.el.dataset.placed = "true";
  }
}
