// The mind in the app, as a user meets it: the Agenda panel lists what moved the personas and
// the work proposed, a click approves it, and the agenda runs it on its own.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  CLI, STUB, appEnv, cli, clickOnScreen, dataDir, launch, quit, screenshot, startDriver, stopDriver, switchToPage,
} from "./harness.mjs";

before(startDriver);
after(stopDriver);

test("the Agenda panel proposes work for a motive, and approved work runs on its own", async () => {
  const dir = dataDir();
  cli(dir, "init");
  // BABS was asked something it could not ground.
  const ops = join(dir, "ops.json");
  writeFileSync(
    ops,
    JSON.stringify([
      {
        op: "append",
        object: "BABS",
        slot: "scrapbook",
        value: { at: 1, user: "What is a kite?", reply: "?", cut: false, recalled: [], grounding: 0.1 },
      },
    ]),
  );
  cli(dir, "apply", ops);
  const session = await launch(dir);
  try {
    await clickOnScreen(session, "open-agenda");
    await session.waitFor("the Agenda panel", () =>
      session.execute("return !!document.querySelector('[data-testid=\"agenda-plan\"]')"),
    );
    await clickOnScreen(session, "agenda-plan");
    const motive = await session.waitFor("the ungrounded question's motive", async () => {
      const t = await session.execute(
        "return document.querySelector('[data-testid=\"motive-ungrounded\"]')?.textContent",
      );
      return t && t.includes("What is a kite?") ? t : null;
    });
    assert.match(motive, /BABS/);
    const proposed = await session.execute(
      "return document.querySelector('[data-testid^=\"work-\"].proposed')?.textContent",
    );
    assert.match(proposed, /research · BABS: What is a kite\?/);
    const status = await session.text(await session.byTestId("agenda-status"));
    assert.match(status, /no approved work waits/);
    await screenshot(session, "agenda-proposed");
    await clickOnScreen(session, "work-approve");
    const done = await session.waitFor("the research to run", async () => {
      const t = await session.execute(
        "return document.querySelector('[data-testid^=\"work-\"].done')?.textContent",
      );
      return t || null;
    }, 60_000);
    assert.match(done, /done/);
    await clickOnScreen(session, "autonomy-on");
    await session.waitFor("the switch to show on", async () =>
      (await session.execute(
        "return document.querySelector('[data-testid=\"autonomy-on\"]')?.className",
      )) === "on" || null,
    );
    await screenshot(session, "agenda");
  } finally {
    await quit(session);
  }
  assert.match(cli(dir, "autonomy"), /autonomy on/);
});

test("the Debugger steps through a dialogue thought by thought, and a rewritten turn is thought on from", async () => {
  const dir = dataDir();
  // A dialogue whose judge does not judge (the stub's ALFRED echoes): it breaks off at his
  // verdict, kept suspended with BRICK's and ROBIN's turns.
  const stub = spawn(STUB, [], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((resolve) => stub.stdout.once("data", (d) => resolve(String(d).trim())));
  let failed;
  try {
    execFileSync(CLI, ["--data-dir", dir, "dialogue", "Is a kite a toy or a tool?", "--rounds", "1"], {
      encoding: "utf8",
      env: { ...appEnv(url), TELOS_LLM: "ollama" },
    });
    assert.fail("the dialogue should have broken off");
  } catch (e) {
    failed = String(e.stderr).match(/telos cycles show (\S+)\)/)?.[1];
  } finally {
    stub.kill();
  }
  assert.ok(failed, "the broken dialogue names its cycle");
  const session = await launch(dir);
  try {
    await session.waitFor("ALFRED's dissonance badge", async () => {
      try {
        const el = await session.byTestId("dissonance-ALFRED");
        return (await session.attr(el, "data-placed")) === "true" ? el : null;
      } catch {
        return null;
      }
    });
    // The pill follows its morph, which may still be settling as the window lays out: click
    // it once it stays put.
    let last = "";
    await session.waitFor("ALFRED's dissonance badge at rest", async () => {
      const now = JSON.stringify(
        await session.execute(
          "const r = document.querySelector('[data-testid=dissonance-ALFRED]').getBoundingClientRect(); return [r.x, r.y, r.width, r.height];",
        ),
      );
      const still = now === last;
      last = now;
      if (!still) await new Promise((r) => setTimeout(r, 250));
      return still;
    });
    await screenshot(session, "world-dialogue-dissonance");
    await clickOnScreen(session, "dissonance-ALFRED");
    await switchToPage(session, "debugger.html");
    await session.waitReady();
    await session.waitFor("the dialogue's thoughts", () => session.byTestId("thought-position"));
    assert.equal(await session.text(await session.byTestId("thought-position")), "Thought 1 of 3");
    // Step: BRICK's turn, ROBIN's, ALFRED's broken verdict.
    await clickOnScreen(session, "thought-next");
    assert.equal(await session.text(await session.byTestId("thought-position")), "Thought 2 of 3");
    await clickOnScreen(session, "thought-next");
    assert.match(await session.text(await session.byTestId("thought-2")), /verdict|ALFRED/);
    await clickOnScreen(session, "thought-prev");
    await clickOnScreen(session, "thought-prev");
    // Rewrite BRICK's turn and think on from it.
    await session.type(await session.byTestId("turn-edit-0"), "A kite is a tool for reading the wind.");
    await screenshot(session, "debugger-dialogue");
    await clickOnScreen(session, "resume-turn-0");
    const said = await session.waitFor("the resumed dialogue's end", async () => {
      for (const id of ["resume-result", "resume-error"]) {
        try {
          return await session.text(await session.byTestId(id));
        } catch {
          // not yet
        }
      }
      return null;
    }, 60_000);
    // The stub's ALFRED still does not judge: it breaks off again, as a new cycle.
    assert.match(said, /broke off again|thought anew/);
    const shownId = await session.text(await session.byTestId("cycle-id"));
    assert.notEqual(shownId, failed);
    const first = await session.text(await session.byTestId("thought-0"));
    assert.match(first, /rewritten by you/);
    await screenshot(session, "debugger-dialogue-resumed");
  } finally {
    await quit(session);
  }
  const old = JSON.parse(cli(dir, "cycles", "show", failed, "--json"));
  assert.match(old.summary.state, /superseded|resumed/);
});
