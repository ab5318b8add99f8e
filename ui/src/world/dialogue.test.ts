import { describe, expect, it } from "vitest";
import { dialogueAction } from "./dialogue";

describe("a dialogue on the canvas", () => {
  it("streams each turn into its speaker's bubble with its round, the synthesis last", () => {
    expect(dialogueAction({ type: "turn", round: 2, persona: "ROBIN", recalled: [] })).toEqual({
      kind: "turn",
      persona: "ROBIN",
      label: "Round 2: ",
    });
    expect(dialogueAction({ type: "turn", round: 0, persona: "ALFRED", recalled: [] })).toMatchObject({ label: "Synthesis: " });
    expect(dialogueAction({ type: "token", persona: "BRICK", text: "Wind." })).toEqual({ kind: "text", persona: "BRICK", text: "Wind." });
  });

  it("tells the verdicts, the ending and a failure as toasts", () => {
    const started = dialogueAction({ type: "started", question: "Fly?", rounds: 3, sides: ["BABS", "ALFRED"] });
    expect(started).toMatchObject({ text: "BABS and ALFRED argue (at most 3 rounds): Fly?" });
    const verdict = dialogueAction({ type: "verdict", round: 1, verdict: "continue", reason: "they differ" });
    expect(verdict).toEqual({ kind: "toast", text: "ALFRED, round 1: continue — they differ", error: false });
    const failed = dialogueAction({ type: "failed", message: "ROBIN's turn broke off", cycle: "01M" });
    expect(failed).toMatchObject({ error: true });
    expect((failed as { text: string }).text).toContain("Debugger");
  });
});
