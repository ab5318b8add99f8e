// The Agenda panel (from the toolbar): the autonomy switch, why nothing runs now (if nothing
// may), the work ALFRED's agenda proposed, approved, ran or rejected — with approve and reject
// for what waits — and the motives that moved it. It follows the agenda live.

import type { AgendaView, Autonomy, Hold, Motive, Work } from "../bindings";

/** Why no act starts now, in words (`now` in ms since the epoch). */
export function holdText(hold: Hold | null, now: number): string {
  if (!hold) return "free to act";
  const wait = (until: number) => Math.max(0, Math.ceil((until - now) / 1000));
  switch (hold.type) {
    case "off":
      return "autonomy is off: motives are noticed, nothing is proposed";
    case "userFirst":
      return "waiting: your request goes first";
    case "perHour":
      return `the cap on acts per hour is reached (room in ${wait(hold.until)} s)`;
    case "share":
      return `resting: its share of model time is used (room in ${wait(hold.until)} s)`;
    case "nothingApproved":
      return "no approved work waits";
  }
}

/** The budget in words. */
export function budgetText(view: AgendaView): string {
  return `at most ${view.per_hour} acts an hour and ${Math.round(view.share * 100)}% of model time`;
}

/** One work's cells: state, kind, persona, subject, what it came to. */
export function workRow(w: Work): [string, string, string, string, string] {
  const took = w.ms === null ? "" : ` · ${(w.ms / 1000).toFixed(1)} s`;
  const result = w.result ? (w.result.length > 140 ? `${w.result.slice(0, 139)}…` : w.result) : "";
  return [w.state, w.kind, w.persona, w.subject, result + took];
}

/** One motive's cells: kind, signal, persona, summary. */
export function motiveRow(m: Motive): [string, string, string, string] {
  const kind = m.kind === "cognitive_dissonance" ? "dissonance" : "curiosity";
  return [kind, m.signal.replace(/_/g, " "), m.persona, m.summary];
}

/** Work waiting for the user. */
export function waiting(view: AgendaView): number {
  return view.works.filter((w) => w.state === "proposed").length;
}

export interface AgendaActions {
  reload: () => Promise<AgendaView | null>;
  setAutonomy: (a: Autonomy) => Promise<void>;
  decide: (id: string, approve: boolean) => Promise<void>;
  plan: () => Promise<void>;
  openCycle: (cycle: string) => void;
}

/** The panel, open or not; `refresh` redraws it from a new view. */
export class AgendaPanel {
  private el: HTMLDivElement | null = null;

  constructor(private readonly actions: AgendaActions) {}

  get open(): boolean {
    return this.el !== null;
  }

  toggle(view: AgendaView | null): void {
    if (this.el) {
      this.el.remove();
      this.el = null;
      return;
    }
    this.el = document.createElement("div");
    this.el.className = "panel agenda";
    this.el.dataset.testid = "agenda";
    document.body.append(this.el);
    if (view) this.refresh(view);
  }

  refresh(view: AgendaView): void {
    const el = this.el;
    if (!el) return;
    el.replaceChildren();
    const head = document.createElement("div");
    head.className = "head";
    const title = document.createElement("strong");
    title.textContent = "Agenda";
    const switcher = document.createElement("div");
    switcher.className = "switch";
    switcher.title = "What the agenda may do on its own";
    for (const a of ["off", "ask", "on"] as Autonomy[]) {
      const b = document.createElement("button");
      b.textContent = a;
      b.dataset.testid = `autonomy-${a}`;
      b.className = a === view.autonomy ? "on" : "secondary";
      b.addEventListener("click", () => void this.actions.setAutonomy(a));
      switcher.append(b);
    }
    const look = document.createElement("button");
    look.textContent = "Look now";
    look.className = "secondary";
    look.dataset.testid = "agenda-plan";
    look.title = "Run the detectors now";
    look.addEventListener("click", () => void this.actions.plan());
    const close = document.createElement("button");
    close.textContent = "×";
    close.className = "secondary";
    close.addEventListener("click", () => this.toggle(null));
    head.append(title, switcher, look, close);
    const status = document.createElement("p");
    status.className = "status";
    status.dataset.testid = "agenda-status";
    status.textContent = `${holdText(view.hold, Date.now())} · ${budgetText(view)}`;
    el.append(head, status, this.works(view.works), this.motives(view.motives));
  }

  private works(works: Work[]): HTMLElement {
    const section = document.createElement("section");
    const h = document.createElement("h3");
    h.textContent = `Work (${works.length})`;
    section.append(h);
    if (works.length === 0) {
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = "Nothing proposed yet.";
      section.append(p);
    }
    for (const w of works) {
      const row = document.createElement("div");
      row.className = `work ${w.state}`;
      row.dataset.testid = `work-${w.id}`;
      const [state, kind, persona, subject, result] = workRow(w);
      const top = document.createElement("div");
      top.className = "line";
      const pill = document.createElement("span");
      pill.className = `pill ${state}`;
      pill.textContent = state;
      const what = document.createElement("span");
      what.textContent = `${kind} · ${persona}: ${subject}`;
      top.append(pill, what);
      row.append(top);
      if (result) {
        const r = document.createElement("div");
        r.className = "result";
        r.textContent = result;
        row.append(r);
      }
      const buttons = document.createElement("div");
      buttons.className = "choices";
      if (w.state === "proposed") {
        const ok = document.createElement("button");
        ok.textContent = "Approve";
        ok.dataset.testid = "work-approve";
        ok.addEventListener("click", () => void this.actions.decide(w.id, true));
        buttons.append(ok);
      }
      if (w.state === "proposed" || w.state === "approved") {
        const no = document.createElement("button");
        no.textContent = "Reject";
        no.className = "secondary";
        no.dataset.testid = "work-reject";
        no.addEventListener("click", () => void this.actions.decide(w.id, false));
        buttons.append(no);
      }
      if (w.cycle) {
        const cycle = w.cycle;
        const open = document.createElement("button");
        open.textContent = "Cycle";
        open.className = "secondary";
        open.title = "Show its cycle in the Debugger";
        open.addEventListener("click", () => this.actions.openCycle(cycle));
        buttons.append(open);
      }
      if (buttons.childElementCount) row.append(buttons);
      section.append(row);
    }
    return section;
  }

  private motives(motives: Motive[]): HTMLElement {
    const section = document.createElement("section");
    const h = document.createElement("h3");
    h.textContent = `Motives (${motives.length})`;
    section.append(h);
    for (const m of motives.slice(0, 50)) {
      const row = document.createElement("div");
      row.className = "motive";
      row.dataset.testid = `motive-${m.signal}`;
      const [kind, signal, persona, summary] = motiveRow(m);
      const pill = document.createElement("span");
      pill.className = `pill ${kind}`;
      pill.textContent = signal;
      const text = document.createElement("span");
      text.textContent = summary.startsWith(persona) ? summary : `${persona}: ${summary}`;
      row.append(pill, text);
      section.append(row);
    }
    return section;
  }
}
