// Which dialogue a halo offers: ALFRED's halo starts one between BRICK and ROBIN; a pair of
// persona morphs (one selected, then Shift+click on another) starts one between the two, the
// first picked speaking first. ALFRED judges and sums up either way.

/** What the halo needs of a morph to decide. */
export interface Pickable {
  kind: string;
  name: string;
}

export interface DialogueOffer {
  /** The sides in speaking order, or null for the default (BRICK and ROBIN). */
  sides: [string, string] | null;
  /** The halo button's tooltip. */
  title: string;
  /** The message bar's placeholder. */
  placeholder: string;
}

const PAIR_HINT = "Shift+click another persona to pick the two sides";

export function dialogueOffer(selected: Pickable, partner?: Pickable): DialogueOffer | undefined {
  if (selected.kind !== "persona") return undefined;
  if (partner && partner.kind === "persona" && partner.name !== selected.name) {
    const sides: [string, string] = [partner.name, selected.name];
    return {
      sides,
      title: `${sides[0]} and ${sides[1]} argue a question; ALFRED judges and sums up`,
      placeholder: `A question for ${sides[0]} and ${sides[1]} to argue…`,
    };
  }
  if (selected.name !== "ALFRED") return undefined;
  return {
    sides: null,
    title: `BRICK and ROBIN argue a question; ALFRED judges and sums up (${PAIR_HINT})`,
    placeholder: "A question for BRICK and ROBIN to argue…",
  };
}
