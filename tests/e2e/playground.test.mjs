// The Playground, the used-by path of a forge: opened from the toolbar, a send answers; a
// message nobody understands is forged with its progress shown live (BRICK writing attempt n of
// 3, the sandbox testing); when every attempt fails, the link opens the suspended cycle in the
// Debugger, where the code is fixed and resumed; the send then answers with the new method.
// BRICK's model is a FAKE Ollama whose three replies all fail (tests/fixtures/forge).

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ROOT, cli, clickOnScreen, dataDir, launch, quit, screenshot, startDriver, stopDriver, switchToPage } from "./harness.mjs";

before(() => startDriver({ stubArgs: ["--replies", join(ROOT, "tests/fixtures/forge/always-failing.json")] }));
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

test("the Playground answers sends, forges a miss with live progress, and a failed forge is fixed in the Debugger", async () => {
  const dir = dataDir();
  cli(dir, "obj", "new", "abacus", "--parent", "genesis");
  const session = await launch(dir);
  try {
    const main = await session.window();
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
    await screenshot(session, "playground");
    await session.switchTo(main);
  } finally {
    await quit(session);
  }
  // Each evaluation is a cycle.
  const cycles = JSON.parse(cli(dir, "cycles", "ls", "--json"));
  assert.ok(cycles.filter((c) => c.trigger.startsWith("playground: ")).length >= 4, JSON.stringify(cycles.map((c) => c.trigger)));
});
