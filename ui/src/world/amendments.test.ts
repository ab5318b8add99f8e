import { describe, expect, it } from "vitest";
import type { Amendment, CodexReport } from "../bindings";
import { changedSpan, describeChanges, newProblems } from "./amendments";

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
    expect(describeChanges(amendment).map((c) => c.line)).toEqual([
      'model: "mistral:7b" → "mistral:7b-instruct"',
      'keep_alive: "5m" → -1',
    ]);
  });

  it("show a long field whole, the change marked however deep in it is", () => {
    const prompt = "You are BRICK. ".repeat(40);
    const edited = prompt.slice(0, 500) + "Never " + prompt.slice(500);
    const [c] = describeChanges({
      ...amendment,
      changes: [{ field: "system_prompt", from: JSON.stringify(prompt), to: JSON.stringify(edited) }],
    });
    if (!c) throw new Error("one change");
    expect(c.line).toBeNull();
    expect(c.span.before + c.span.was + c.span.after).toBe(prompt);
    expect(c.span.before + c.span.now + c.span.after).toBe(edited);
    expect(c.span.was).toBe("");
    expect(c.span.now).toMatch(/Never/);
    expect(c.span.before.length).toBeGreaterThanOrEqual(490);
  });

  it("mark a change of a value that only differs past 80 characters", () => {
    const a = "x".repeat(100);
    const span = changedSpan(a, `${a.slice(0, 90)}y${a.slice(91)}`);
    expect(span).toEqual({ before: "x".repeat(90), was: "x", now: "y", after: "x".repeat(9) });
    expect(changedSpan("same", "same")).toEqual({ before: "same", was: "", now: "", after: "" });
    expect(changedSpan("ab", "b")).toEqual({ before: "", was: "a", now: "", after: "b" });
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
