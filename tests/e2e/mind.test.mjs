// The mind in the app, as a user meets it: the Agenda panel lists what moved the personas and
// the work proposed, a click approves it, and the agenda runs it on its own.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { cli, clickOnScreen, dataDir, launch, quit, screenshot, startDriver, stopDriver } from "./harness.mjs";

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
