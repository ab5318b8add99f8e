import { describe, expect, it } from "vitest";
import { dialogueOffer } from "./pair";

const persona = (name: string) => ({ kind: "persona", name });

describe("the dialogue a halo offers", () => {
  it("is BRICK and ROBIN on ALFRED's halo, and nothing on another persona's alone", () => {
    expect(dialogueOffer(persona("ALFRED"))).toMatchObject({ sides: null });
    expect(dialogueOffer(persona("ALFRED"))?.title).toContain("Shift+click");
    expect(dialogueOffer(persona("BABS"))).toBeUndefined();
    expect(dialogueOffer({ kind: "object", name: "kite" })).toBeUndefined();
  });

  it("is between a picked pair of personas, the first picked speaking first", () => {
    const offer = dialogueOffer(persona("ALFRED"), persona("BABS"));
    expect(offer?.sides).toEqual(["BABS", "ALFRED"]);
    expect(offer?.placeholder).toBe("A question for BABS and ALFRED to argue…");
  });

  it("is no pair with an object or with itself", () => {
    expect(dialogueOffer(persona("BABS"), { kind: "object", name: "kite" })).toBeUndefined();
    expect(dialogueOffer(persona("BABS"), persona("BABS"))).toBeUndefined();
    expect(dialogueOffer({ kind: "object", name: "kite" }, persona("BABS"))).toBeUndefined();
  });
});
