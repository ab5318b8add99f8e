// Specification of cycle list helpers, error messages and the command wrapper.
import { describe, expect, it } from "vitest";
import type { CycleSummary } from "../bindings";
import { call, errorMessage, filterCycles, initialCycle, isNotFound, newestFirst } from "./cycles";

const c = (id: string, state: CycleSummary["state"], started: number): CycleSummary => ({ id, trigger: "t", state, objects: 1, error: null, started, ended: started });

describe("cycle lists", () => {
  const list = [c("a", "committed", 1), c("b", "suspended", 3), c("d", "suspended", 2), c("e", "aborted", 4)];

  it("sorts newest first", () => {
    expect(newestFirst(list).map((x) => x.id)).toEqual(["e", "b", "d", "a"]);
  });

  it("filters suspended cycles", () => {
    expect(filterCycles(list, "suspended").map((x) => x.id)).toEqual(["b", "d"]);
    expect(filterCycles(list, "all")).toHaveLength(4);
  });

  it("starts on the cycle asked for, else the newest suspended one, else the newest", () => {
    const sorted = newestFirst(list);
    expect(initialCycle(sorted, "a")).toBe("a");
    expect(initialCycle(sorted, null)).toBe("b");
    expect(initialCycle([c("x", "committed", 1)], null)).toBe("x");
    expect(initialCycle([], null)).toBeNull();
  });
});

describe("errors", () => {
  it("shows an IpcError's message", () => {
    expect(errorMessage({ type: "InvalidInput", data: "bad slot" })).toBe("bad slot");
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorMessage("plain")).toBe("plain");
    expect(isNotFound({ type: "NotFound", data: "x" })).toBe(true);
    expect(isNotFound({ type: "Conflict", data: "x" })).toBe(false);
  });

  it("turns results and throws into one shape", async () => {
    expect(await call(async () => ({ status: "ok" as const, data: 5 }))).toEqual({ ok: true, data: 5 });
    expect(await call(async () => ({ status: "error" as const, error: { type: "NotFound" as const, data: "gone" } }))).toEqual({ ok: false, message: "gone", notFound: true });
    expect(await call<number>(async () => {
      throw new Error("no ipc");
    })).toEqual({ ok: false, message: "no ipc", notFound: false });
  });
});
