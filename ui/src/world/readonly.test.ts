import { describe, expect, it } from "vitest";

import { readOnlyText } from "./readonly";

describe("the read-only banner", () => {
  it("says that nothing can be saved, and why", () => {
    const why = "the image store could not write (the disk holding /data has 0 MiB free); free some space and Telos writes again";
    expect(readOnlyText(why)).toBe(`Read-only — nothing can be saved: ${why}`);
  });
});
