import { describe, expect, it } from "vitest";
import type { Amendment, CodexReport } from "../bindings";
import { describeChanges, newProblems } from "./amendments";

const amendment: Amendment = {
  id: "01h",
  persona: "BRICK",
  changes: [
    { field: "model", from: '"mistral:7b"', to: '"mistral:7b-instruct"' },
    { field: "keep_alive", from: '"5m"', to: "-1" },
  ],
  proposed: {
    name: "BRICK",
    role: "engineer",
    model: "mistral:7b-instruct",
    system_prompt: "x",
    keep_alive: -1,
    priority: 2,
    values: [],
  },
};

describe("amendments", () => {
  it("say what each changes, field by field", () => {
    expect(describeChanges(amendment)).toEqual([
      'model: "mistral:7b" → "mistral:7b-instruct"',
      'keep_alive: "5m" → -1',
    ]);
  });

  it("tell a malformed codex once, and again only after it was fixed and broken anew", () => {
    const told = new Set<string>();
    const report = (line: number): CodexReport => ({
      pending: [],
      problems: [{ file: "codex/BRICK.json", line, message: "expected `,`" }],
    });
    expect(newProblems(report(3), told)).toEqual(["codex/BRICK.json:3: expected `,`"]);
    expect(newProblems(report(3), told)).toEqual([]);
    expect(newProblems({ pending: [], problems: [] }, told)).toEqual([]);
    expect(newProblems(report(3), told)).toHaveLength(1);
  });
});
