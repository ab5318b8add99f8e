// The used-by path in one run: a folder dropped on BABS is remembered, BABS is asked about it
// and answers with the embedded model (its Ollama model is not pulled); then the Playground,
// opened from the toolbar: a send answers; a message nobody understands is forged with its
// progress shown live (BRICK writing attempt n of 3, the sandbox testing); when every attempt
// fails, the link opens the suspended cycle in the Debugger, where the code is fixed and
// resumed; the send then answers with the new method. Ollama is a FAKE whose BRICK
// (mistral:7b) gives three failing replies (tests/fixtures/forge) and which lacks BABS's
// qwen2:7b.

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  ROOT, centre, cli, clickOnScreen, dataDir, launch, morph, osDrop, quit, screenshot, startDriver, stopDriver, switchToPage,
} from "./harness.mjs";

// The FAKE Ollama's models: ALFRED's, ROBIN's and BRICK's, not BABS's.
before(() =>
  startDriver({
    models: [
      { name: "phi3:3.8b", size: "2.2GB", load_ms: 50 },
      { name: "gemma2:9b", size: "5.4GB", load_ms: 100 },
      { name: "mistral:7b", size: "4.1GB", load_ms: 100 },
    ],
    replies: join(ROOT, "tests/fixtures/forge/always-failing.json"),
  }),
);
after(stopDriver);

/** Evaluates `line` in the Playground and waits for its answer: the newest entry's text, a line a part. */
async function evaluate(session, line, timeoutMs = 20000) {
  const before = await session.execute("return document.querySelectorAll('[data-testid=playground-entry]').length");
  await session.execute("const e = document.querySelector('[data-testid=playground-editor]'); e.value = arguments[0];", line);
  await session.click(await session.byTestId("playground-evaluate"));
  return session.waitFor(
    `the answer to ${line}`,
    () =>
      session.execute(
        "const all = document.querySelectorAll('[data-testid=playground-entry]'); if (all.length <= arguments[0]) return null; const a = all[0].querySelector('[data-testid=playground-answer]'); return a ? [...all[0].querySelectorAll('div, li')].map((c) => c.textContent).join('\\n') : null;",
        before,
      ),
    timeoutMs,
  );
}

test("drop a folder on BABS, ask BABS about it, then forge in the Playground, fix it in the Debugger, and the method answers", async () => {
  const dir = dataDir();
  cli(dir, "obj", "new", "abacus", "--parent", "genesis");
  // A record in BABS's codebook, for the symbol box.
  for (const name of ["topic", "source", "tides", "harbour-notes"]) cli(dir, "vsa", "atom", name);
  cli(dir, "vsa", "compose", "note 1", 'topic * tides + source * "harbour-notes"');
  const folder = join(dir, "harbour-notes");
  mkdirSync(folder);
  writeFileSync(join(folder, "tides.md"), "# Tides\n\nHigh tide at the harbour comes at 06:12 and 18:40.");
  writeFileSync(join(folder, "boats.txt"), "The ferry to the island leaves at nine from the north quay.");
  const session = await launch(dir);
  try {
    const main = await session.window();
    await osDrop(folder, centre(await morph(session, "BABS")));
    const toast = await session.waitFor(
      "the drop's answer",
      () =>
        session.execute(
          "return [...document.querySelectorAll('[data-testid=toast]')].map((t) => t.textContent).find((t) => /BABS remembered/.test(t))",
        ),
      90000,
    );
    assert.match(toast, /BABS remembered 2 new files/);
    // BABS (on the embedded model: the FAKE Ollama lacks qwen2:7b) summarises what it was
    // given first; it is asked once that is done.
    const babs = await session.waitFor(
      "BABS on the embedded model, done summarising",
      async () => {
        const m = await morph(session, "BABS");
        return m.badges.includes("embedded · SmolLM2-135M-Instruct.Q4_1") && !m.badges.includes("busy") ? m : null;
      },
      180000,
    );
    const bubble = async () => {
      try {
        return (await session.text(await session.byTestId("bubble-BABS"))).trim();
      } catch {
        return "";
      }
    };
    const before = await bubble();
    await session.clickAt(centre(babs));
    await session.type(await session.byTestId("chat-input"), "When is high tide at the harbour?");
    await session.click(await session.byTestId("chat-send"));
    const reply = await session.waitFor(
      "BABS's reply from the tiny model",
      async () => {
        const t = await bubble();
        return t !== before && t.length > 3 && t !== "…" ? t : null;
      },
      60000,
    );
    assert.doesNotMatch(reply, /offline|ollama pull/);
    await screenshot(session, "world-ask-babs");
    await session.click(await session.byTestId("open-playground"));
    await switchToPage(session, "playground.html");
    await session.waitReady();
    assert.match(await evaluate(session, "ALFRED model"), /"phi3:3.8b"/);
    assert.match(await evaluate(session, "Nobody name"), /Nobody/);

    const forged = await evaluate(session, "abacus total [3, 4]", 120000);
    assert.match(forged, /BRICK writes abacus total: attempt 1 of 3/);
    assert.match(forged, /the sandbox tests attempt 1 of 3/);
    assert.match(forged, /attempt 3 of 3 failed/);
    assert.match(forged, /suspended/);
    await screenshot(session, "playground-forge-failed");

    await session.click(await session.byTestId("open-suspended-forge"));
    await switchToPage(session, "debugger.html");
    await session.waitReady();
    await session.waitFor("the forge's attempts", () => session.byTestId("attempt-3"));
    await session.type(await session.byTestId("attempt-code-3"), "def run(args): return sum(args)");
    await clickOnScreen(session, "resume-attempt-3");
    await session.waitFor("the resume's result", async () => {
      try {
        return await session.text(await session.byTestId("resume-result"));
      } catch {
        return null;
      }
    });
    await switchToPage(session, "playground.html");
    assert.match(await evaluate(session, "abacus total [3, 4]"), /^7$/m);
    // The symbol box: a role unbound from the record cleans up to its filler.
    await session.execute("const e = document.querySelector('[data-testid=vsa-expression]'); e.value = arguments[0];", '"note 1" / source');
    await session.click(await session.byTestId("vsa-query"));
    const hits = await session.waitFor("the symbol box's answer", () =>
      session.execute("const h = [...document.querySelectorAll('[data-testid=vsa-hit]')].map((e) => e.textContent); return h.length ? h : null"),
    );
    assert.match(hits[0], /harbour-notes/);
    await screenshot(session, "playground");
    await session.switchTo(main);
  } finally {
    await quit(session);
  }
  // Each evaluation is a cycle.
  const cycles = JSON.parse(cli(dir, "cycles", "ls", "--json"));
  assert.ok(cycles.filter((c) => c.trigger.startsWith("playground: ")).length >= 4, JSON.stringify(cycles.map((c) => c.trigger)));
});
