// Learning in the app: a persona's Inspector shows its golden dataset with ALFRED's scores and
// rationales, its performance per week, and a pending ascension's report; Approve swaps its
// model (one cycle) and Revert puts the old one back.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CLI, cli, dataDir, inspectViaHalo, launch, object, quit, screenshot, slot, startDriver, stopDriver } from "./harness.mjs";

before(startDriver);
after(stopDriver);

/** BABS's golden dataset: `n` exchanges ALFRED scored 4 or 5. */
function seedGolden(dir, n) {
  const ops = [];
  for (let i = 0; i < n; i++) {
    const name = `evaluation seeded ${i}`;
    ops.push({ op: "new", name, parents: ["genesis"] });
    const overall = i % 2 ? 5 : 4;
    const slots = {
      kind: "evaluation",
      persona: "BABS",
      exchange: `chat:seeded:${i}`,
      source: "chat",
      messages: [
        { role: "system", content: "You are BABS." },
        { role: "user", content: `What is fact ${i} about kites?` },
        { role: "assistant", content: `Fact ${i}: a kite flies on the wind.` },
      ],
      scores: { accuracy: overall, sources: 4, curiosity: 4, "task done": overall },
      overall,
      rationale: `grounded and to the point (${i})`,
      judge: "phi3:3.8b",
      at: Date.UTC(2026, 10, 23) + i * 86_400_000,
    };
    for (const [slotName, value] of Object.entries(slots)) ops.push({ op: "set", object: name, slot: slotName, value });
  }
  const file = join(dir, "golden.json");
  writeFileSync(file, JSON.stringify(ops));
  cli(dir, "apply", file);
}

test("a persona's Inspector shows its golden dataset and an ascension's report, and approves and reverts it", async () => {
  const dir = dataDir();
  cli(dir, "init");
  seedGolden(dir, 12);
  // The ascension on the tiny model (the embedded runtime): the candidate is its default GGUF,
  // ALFRED judges on it too.
  const candidate = "gguf:SmolLM2-135M-Instruct.Q4_1";
  execFileSync(CLI, ["--data-dir", dir, "ascend", "BABS", "--candidate", candidate], {
    encoding: "utf8",
    env: { ...process.env, TELOS_LLM: "embedded", TELOS_LLM_MAX_TOKENS: "384" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const session = await launch(dir);
  try {
    await inspectViaHalo(session, "BABS");
    const summary = await session.waitFor("the golden dataset", () =>
      session.execute("return document.querySelector('[data-testid=golden-summary]')?.textContent"),
    );
    assert.match(summary, /^12 golden of 12 judged \(score 4\+\)/);
    assert.match(summary, /accuracy, sources, curiosity, task done/);
    const golden = await session.execute("return document.querySelector('[data-testid=golden]').textContent");
    assert.match(golden, /ALFRED: grounded and to the point/);
    const weeks = await session.execute("return document.querySelectorAll('[data-testid=performance] .week').length");
    assert.ok(weeks >= 2, `${weeks} weeks`);
    const report = await session.waitFor("the pending report", () =>
      session.execute("return document.querySelector('[data-testid=ascension-pending]')?.textContent"),
    );
    assert.match(report, /w–t–l/);
    assert.match(report, /recommended/i);
    await session.execute("document.querySelector('[data-testid=learning]').scrollIntoView()");
    await screenshot(session, "inspector-learning");
    await session.execute("document.querySelector('[data-testid=ascension-pending]').scrollIntoView()");
    await screenshot(session, "inspector-ascension");
    await session.click(await session.byTestId("approve-ascension"));
    await session.waitFor("the report approved", () =>
      session.execute("return !!document.querySelector('[data-testid=ascension-approved]')"),
    );
    assert.equal(JSON.parse(slot(await object(session, "BABS"), "model").json), candidate);
    await session.click(await session.byTestId("revert-ascension"));
    await session.waitFor("the report reverted", () =>
      session.execute("return !!document.querySelector('[data-testid=ascension-reverted]')"),
    );
    assert.equal(JSON.parse(slot(await object(session, "BABS"), "model").json), "qwen2:7b");
    await screenshot(session, "inspector-learning-reverted");
  } finally {
    await quit(session);
  }
  assert.match(cli(dir, "ascend", "ls", "BABS"), /reverted/);
});
