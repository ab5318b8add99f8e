// DOM pieces drawn over the canvas: the halo around the selected morph, chat bubbles, the
// persona chooser for drops on empty canvas, and toasts.

import type { Morph } from "../morphic";

export interface HaloActions {
  inspect(): void;
  clone(): void;
  pin(): void;
  debug(): void;
  chat(): void;
  /** A persona's halo: teach it a method (a selector and a task in words → the forge). */
  teach(): void;
  /** ALFRED's halo (BRICK and ROBIN) or a picked pair's: start a dialogue; `title` says who. */
  dialogue?: { title: string; act: () => void };
}

function button(label: string, testid: string, title: string, act: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.title = title;
  b.dataset.testid = testid;
  b.addEventListener("click", (e) => {
    e.stopPropagation();
    act();
  });
  return b;
}

/** The halo: handles around the selected morph. */
export class Halo {
  private el: HTMLDivElement;
  private forId: string | null = null;

  constructor(overlay: HTMLElement) {
    this.el = document.createElement("div");
    this.el.className = "halo hidden";
    this.el.dataset.testid = "halo";
    overlay.appendChild(this.el);
  }

  show(morph: Morph, actions: HaloActions): void {
    this.forId = morph.id;
    this.el.replaceChildren(
      button("Inspect", "halo-inspect", "Open the Inspector (Ctrl+I)", actions.inspect),
      button("Clone", "halo-clone", "Clone this object in the image", actions.clone),
      ...(morph.kind === "object"
        ? [button("Unpin", "halo-pin", "Remove this morph from the world", actions.pin)]
        : [
            button("Chat", "halo-chat", "Talk to this persona", actions.chat),
            button("Teach…", "halo-teach", "Teach this persona a method: a selector and what it should do", actions.teach),
          ]),
      ...(actions.dialogue
        ? [button("Dialogue", "halo-dialogue", actions.dialogue.title, actions.dialogue.act)]
        : []),
      button("Debug", "halo-debug", "Open the Debugger (Ctrl+D)", actions.debug),
    );
    this.el.classList.remove("hidden");
    this.place(morph);
  }

  hide(): void {
    this.forId = null;
    this.el.classList.add("hidden");
  }

  get target(): string | null {
    return this.forId;
  }

  /** Keeps the halo just above its morph, inside the window (a morph at the right edge has
   * its halo shifted left rather than cut off). */
  place(morph: Morph): void {
    const room = (this.el.parentElement?.clientWidth ?? Infinity) - this.el.offsetWidth - 4;
    const x = Math.max(0, Math.min(morph.x, room));
    this.el.style.transform = `translate(${x}px, ${Math.max(0, morph.y - 34)}px)`;
  }
}

/** A persona's reply bubble, beside its morph. */
export class Bubble {
  readonly el: HTMLDivElement;
  private text: HTMLDivElement;

  constructor(overlay: HTMLElement, persona: string) {
    this.el = document.createElement("div");
    this.el.className = "bubble";
    this.el.dataset.testid = `bubble-${persona}`;
    const close = button("×", `bubble-close-${persona}`, "Close", () => this.el.remove());
    close.className = "close";
    this.text = document.createElement("div");
    this.text.className = "text";
    this.el.append(close, this.text);
    overlay.appendChild(this.el);
  }

  set(text: string, tone: "thinking" | "reply" | "offline" | "error"): void {
    this.text.textContent = text;
    this.el.dataset.tone = tone;
  }

  append(text: string): void {
    this.text.textContent = (this.text.textContent ?? "") + text;
    this.el.dataset.tone = "reply";
  }

  /** Beside the morph: to its right, or to its left when the right would leave the stage. */
  place(morph: Morph): void {
    const stage = this.el.parentElement?.clientWidth ?? Infinity;
    const width = this.el.offsetWidth;
    const right = morph.x + morph.width + 10;
    const x = right + width <= stage ? right : Math.max(0, morph.x - width - 10);
    this.el.style.transform = `translate(${x}px, ${morph.y}px)`;
  }
}

/** Asks which persona should get files dropped on empty canvas; resolves to its id or null. */
export function choosePersona(
  personas: { id: string; name: string }[],
  count: number,
): Promise<string | null> {
  return new Promise((resolve) => {
    const backdrop = document.createElement("div");
    backdrop.className = "backdrop";
    const dialog = document.createElement("div");
    dialog.className = "dialog";
    dialog.dataset.testid = "drop-chooser";
    const title = document.createElement("p");
    title.textContent = `Give ${count} file${count === 1 ? "" : "s"} to which persona?`;
    const row = document.createElement("div");
    row.className = "choices";
    const done = (id: string | null) => {
      backdrop.remove();
      resolve(id);
    };
    for (const p of personas) {
      row.appendChild(button(p.name, `drop-choose-${p.name}`, `Give to ${p.name}`, () => done(p.id)));
    }
    const cancel = button("Cancel", "drop-cancel", "Drop nothing", () => done(null));
    cancel.className = "secondary";
    dialog.append(title, row, cancel);
    backdrop.appendChild(dialog);
    document.body.appendChild(backdrop);
    backdrop.addEventListener("keydown", (e) => {
      if (e.key === "Escape") done(null);
    });
    row.querySelector("button")?.focus();
  });
}

/** A short message at the bottom right; errors stay until clicked. */
export function toast(text: string, tone: "info" | "error" = "info"): void {
  const t = makeToast(text, tone);
  if (t && tone === "info") setTimeout(() => t.remove(), 6000);
}

function makeToast(text: string, tone: "info" | "error"): HTMLDivElement | null {
  const host = document.getElementById("toasts");
  if (!host) return null;
  const t = document.createElement("div");
  t.className = `toast ${tone}`;
  t.dataset.testid = "toast";
  t.textContent = text;
  t.addEventListener("click", () => t.remove());
  host.appendChild(t);
  return t;
}

/** A toast that stays while work goes on, its text kept up to date, until `done`. */
export interface LiveToast {
  set(text: string): void;
  done(): void;
}

export function liveToast(text: string): LiveToast {
  const t = makeToast(text, "info");
  return {
    set: (next) => {
      if (t) t.textContent = next;
    },
    done: () => t?.remove(),
  };
}
