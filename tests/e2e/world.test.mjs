// End to end, as a user: the desktop app under Xvfb, driven through tauri-driver, with real
// pointer drags and a real OS file drop. Needs Xvfb, tauri-driver and the built app:
// run through scripts/e2e (scripts/test does).

import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  CLI, ROOT, STUB, centre, cli, clickOnScreen, dataDir, inspectViaHalo, launch, morph, morphs, object, osDrop, quit, screenshot, slot,
  appEnv, startDriver, stopDriver, switchToPage,
} from "./harness.mjs";

before(startDriver);
after(stopDriver);

test("the app starts and shows the four persona morphs", async () => {
  const session = await launch(dataDir());
  try {
    const names = (await morphs(session)).map((m) => m.name).sort();
    assert.deepEqual(names, ["ALFRED", "BABS", "BRICK", "ROBIN"]);
    const all = await morphs(session);
    for (const a of all) {
      for (const b of all) {
        if (a === b) continue;
        const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        assert.ok(apart, `${a.name} overlaps ${b.name}`);
      }
    }
    await screenshot(session, "world");
  } finally {
    await quit(session);
  }
});

test("the world window shows the last and next backup the backup manager made", async () => {
  const dir = dataDir();
  const dest = join(dir, "..", `${dir.split("/").pop()}-backups`);
  cli(dir, "backup", "schedule", dest, "--every-hours", "6");
  const session = await launch(dir);
  try {
    // The first backup into a new destination is due at once; the badge looks every 10 s.
    await session.waitFor("the badge to show the backup made", async () => {
      const text = await session.execute(
        "return document.querySelector('[data-testid=backup]').textContent;",
      );
      return /^Backup: last (now|\d+ min ago), next in 6\.0 h$/.test(text);
    }, 40000);
    await screenshot(session, "world-backup");
  } finally {
    await quit(session);
  }
  const listed = JSON.parse(cli(dir, "backup", "ls", dest, "--json"));
  assert.equal(listed.backups.length, 1);
  assert.equal(listed.backups[0].kind, "full");
});

test("a dragged morph keeps its position when the app restarts", async () => {
  const dir = dataDir();
  let session = await launch(dir);
  let moved;
  try {
    const brick = await morph(session, "BRICK");
    const from = centre(brick);
    await session.drag(from, { x: from.x - 140, y: from.y + 60 });
    moved = await morph(session, "BRICK");
    assert.equal(moved.x, brick.x - 140);
    assert.equal(moved.y, brick.y + 60);
    // Wait until the move is committed to the image, not only drawn.
    await session.waitFor("the move to be stored", async () => {
      const r = await session.invoke("world");
      const stored = r.ok.find((m) => m.object.name === "BRICK").position;
      return stored && stored.x === moved.x;
    });
  } finally {
    await quit(session);
  }
  session = await launch(dir);
  try {
    const again = await morph(session, "BRICK");
    assert.deepEqual({ x: again.x, y: again.y }, { x: moved.x, y: moved.y });
  } finally {
    await quit(session);
  }
});

/** The sources `persona` recalls for `query` (through the app's own recall command). */
async function recalled(session, persona, query) {
  const r = await session.invoke("recall", { persona, query, k: 5 });
  assert.ok(r.ok, `recall failed: ${JSON.stringify(r)}`);
  return r.ok.map((hit) => hit.source);
}

test("a file dropped from the OS is remembered by the persona under the pointer and no other", async () => {
  const dir = dataDir();
  const file = join(dir, "lighthouse-log.txt");
  writeFileSync(file, "The lighthouse keeper logged a storm from the north-east; waves reached the gallery.");
  const session = await launch(dir);
  try {
    await osDrop(file, centre(await morph(session, "BRICK")));
    const toast = await session.waitFor("the drop's answer", () =>
      session.execute("return [...document.querySelectorAll('[data-testid=toast]')].map((t) => t.textContent).find((t) => /remembered/.test(t))"),
      60000,
    );
    assert.match(toast, /BRICK remembered 1 new file \(1 chunk\)/);
    const brick = await object(session, "BRICK");
    assert.equal(brick.links.find((l) => l.relation === "memory")?.count, 1);
    assert.deepEqual(await recalled(session, "BRICK", "a storm at the lighthouse"), [file]);
    assert.deepEqual(await recalled(session, "ROBIN", "a storm at the lighthouse"), [], "ROBIN remembers nothing");
    // The count on the morph follows without a reload.
    await session.waitFor("BRICK's morph to count 1 doc", async () =>
      (await morph(session, "BRICK")).badges.includes("1 doc"),
    );
    await screenshot(session, "world-after-drop");

    // The Inspector's search box finds it too.
    await inspectViaHalo(session, "BRICK");
    await session.type(await session.byTestId("memory-query"), "waves at the gallery");
    await session.click(await session.byTestId("memory-search"));
    // textContent: WebKitWebDriver's element text leaves out the clipped passage box.
    const results = await session.waitFor("the Inspector's memory results", () =>
      session.execute("return document.querySelector('[data-testid=memory-results]')?.textContent"),
    );
    assert.match(results, /lighthouse-log\.txt #0/);
    assert.match(results, /waves reached the gallery/);
    await screenshot(session, "inspector-memory-search");

    // What BRICK remembers grew a concept (not named yet: that is BABS's agenda work); its
    // link opens the concept, whose links are its chunks.
    const concepts = await session.waitFor("BRICK's concepts", () =>
      session.execute("const l = document.querySelector('[data-testid=concept-list]'); return l && l.children.length ? l.textContent : null"),
    );
    assert.match(concepts, /\(not named yet\)/);
    assert.match(concepts, /1 chunk from 1 document/);
    await screenshot(session, "inspector-concepts");
    await session.execute("document.querySelector('[data-testid=concept] button').click()");
    const chunks = await session.waitFor("the concept's chunks", () =>
      session.execute("return document.querySelector('[data-testid=links-abstraction_of]')?.textContent"),
    );
    assert.match(chunks, /BRICK memory [0-9a-f]+ part 0/);
  } finally {
    await quit(session);
  }
});

test("a dropped folder's progress shows while it is read: the file in the toast, its place and stage on the morph", async () => {
  const dir = dataDir();
  const folder = join(dir, "ship-logs");
  mkdirSync(folder);
  const files = 40;
  for (let i = 1; i <= files; i++) {
    const entry = `The wind backed to the ${["north", "east", "south", "west"][i % 4]} and the crew reefed the mainsail at ${(i % 12) + 1} bells. `;
    writeFileSync(join(folder, `day-${String(i).padStart(2, "0")}.md`), `# Log, day ${i} at sea\n\n${entry.repeat(40)}`);
  }
  const session = await launch(dir);
  try {
    await osDrop(folder, centre(await morph(session, "ROBIN")));
    // Early in the drop: the live toast names the file and its place, the morph its stage.
    const reading = await session.waitFor(
      "the drop's live toast, early in the folder",
      () =>
        session.execute(
          "return [...document.querySelectorAll('[data-testid=toast]')].map((t) => t.textContent).find((t) => /ROBIN is reading day-\\d+\\.md \\(([1-9]|10) of 40\\)/.test(t))",
        ),
      60000,
    );
    assert.match(reading, /ROBIN is reading day-\d+\.md \(\d+ of 40\)/);
    const busy = (m) => m.badges.find((b) => /^\d+\/40 (reading|chunking|embedding \d+\/\d+|indexing)$/.test(b));
    await session.waitFor("ROBIN's morph to show its place and stage", async () => busy(await morph(session, "ROBIN")));
    await screenshot(session, "world-drop-in-progress");
    // The picture is of a drop in progress: it was still going after the shot.
    const remembered = () =>
      session.execute(
        "return [...document.querySelectorAll('[data-testid=toast]')].map((t) => t.textContent).find((t) => /ROBIN remembered/.test(t))",
      );
    assert.ok(!(await remembered()), "the drop ended before the screenshot: give it more to read");
    const done = await session.waitFor("the drop's answer", remembered, 120000);
    assert.match(done, /ROBIN remembered 40 new files/);
    await session.waitFor("the morph's activity badge to go", async () => !busy(await morph(session, "ROBIN")));
  } finally {
    await quit(session);
  }
});

test("a file dropped on empty canvas asks which persona should have it", async () => {
  const dir = dataDir();
  const file = join(dir, "for-babs.md");
  writeFileSync(file, "# Research notes\n\nSourdough needs a starter fed twice a day.");
  const session = await launch(dir);
  try {
    await osDrop(file, { x: 550, y: 400 });
    const choose = await session.waitFor("the persona chooser", () => session.byTestId("drop-choose-BABS"));
    await screenshot(session, "drop-chooser");
    await session.click(choose);
    const sources = await session.waitFor("BABS to remember the file", async () => {
      const got = await recalled(session, "BABS", "how often is a sourdough starter fed?");
      return got.length > 0 && got;
    }, 60000);
    assert.deepEqual(sources, [file]);
  } finally {
    await quit(session);
  }
});

test("the halo's clone makes a real clone that appears as a new morph and chats at once", async () => {
  const session = await launch(dataDir());
  try {
    await session.clickAt(centre(await morph(session, "ROBIN")));
    await session.click(await session.byTestId("halo-clone"));
    const copy = await session.waitFor("the clone's morph", async () =>
      (await morphs(session)).find((m) => m.name === "ROBIN copy"),
    );
    assert.equal(copy.kind, "persona");
    const view = await object(session, "ROBIN copy");
    assert.equal(JSON.parse(slot(view, "role").json), "empathy");
    // The clone is a persona the scheduler knows at once: it chats, no restart needed.
    await session.clickAt(centre(copy));
    await session.type(await session.byTestId("chat-input"), "Are you new here?");
    await session.click(await session.byTestId("chat-send"));
    const text = await session.waitFor("the clone's reply", async () => {
      const t = await session.text(await session.byTestId("bubble-ROBIN copy"));
      return t.includes("here?") ? t : null;
    });
    assert.match(text, /You said: Are you new here\?/);
    assert.doesNotMatch(text, /no persona named/);
    await screenshot(session, "world-clone-chat");
  } finally {
    await quit(session);
  }
});

test("a persona whose model is not pulled answers on the embedded runtime and says so", async () => {
  const session = await launch(dataDir());
  try {
    // The stub has no mistral:7b: BRICK falls back to the embedded default model.
    const badged = await session.waitFor("BRICK's runtime badge", async () => {
      const m = await morph(session, "BRICK");
      return m.badges.includes("embedded · SmolLM2-135M-Instruct.Q4_1") ? m : null;
    });
    assert.ok(!badged.badges.some((b) => b.startsWith("ollama")), badged.badges.join(", "));
    await session.clickAt(centre(badged));
    await session.type(await session.byTestId("chat-input"), "Say hello to me.");
    await session.click(await session.byTestId("chat-send"));
    // A real reply from the tiny model: some words, not the thinking dots.
    const text = await session.waitFor("BRICK's reply from SmolLM2", async () => {
      const t = (await session.text(await session.byTestId("bubble-BRICK"))).trim();
      return t.length > 3 && t !== "…" ? t : null;
    });
    assert.doesNotMatch(text, /ollama pull/);
    const ram = await session.waitFor("SmolLM2 in the RAM bar", async () => {
      const t = await session.text(await session.byTestId("ram"));
      return /RAM 0\.\d GB/.test(t) && !t.startsWith("RAM 0.0") ? t : null;
    });
    assert.match(ram, /RAM 0\.\d GB \/ /);
    await screenshot(session, "world-chat-embedded");
  } finally {
    await quit(session);
  }
});

test("the Models dialog lists both runtimes' models with who uses each, and names a bad pull", async () => {
  const session = await launch(dataDir());
  try {
    await clickOnScreen(session, "open-models");
    const row = await session.waitFor("the embedded default model's row", async () => {
      const t = await session.execute(
        "return document.querySelector('[data-testid=\"model-gguf:SmolLM2-135M-Instruct.Q4_1\"]')?.textContent",
      );
      return t && t.includes("BRICK") ? t : null;
    });
    assert.match(row, /embedded/);
    const phi3 = await session.execute(
      "return document.querySelector('[data-testid=\"model-phi3:3.8b\"]')?.textContent",
    );
    assert.match(phi3, /ollama.*ALFRED/);
    await session.type(await session.byTestId("pull-name"), "hf:owner/repo");
    await clickOnScreen(session, "pull");
    const said = await session.waitFor("what a hub name looks like", async () => {
      const t = await session.text(await session.byTestId("pull-status"));
      return t.includes("hf:OWNER/REPO/FILE.gguf") ? t : null;
    });
    assert.match(said, /OWNER\/REPO/);
    await screenshot(session, "models");
  } finally {
    await quit(session);
  }
});

test("a dialogue from ALFRED's halo plays in BRICK's and ROBIN's bubbles, round by round", async () => {
  const session = await launch(dataDir());
  try {
    await session.clickAt(centre(await morph(session, "ALFRED")));
    await clickOnScreen(session, "halo-dialogue");
    await session.type(await session.byTestId("chat-input"), "Is a kite a toy or a tool?");
    await session.click(await session.byTestId("chat-send"));
    for (const who of ["BRICK", "ROBIN"]) {
      const text = await session.waitFor(`${who}'s first turn`, async () => {
        const t = await session.text(await session.byTestId(`bubble-${who}`));
        return /Round 1: \S/.test(t) ? t : null;
      });
      assert.match(text, /Round 1: \S/);
    }
    // The stub's ALFRED echoes instead of judging: the dialogue ends at his verdict, said so.
    // BRICK speaks on the embedded tiny model (its own is not pulled), whose turn may run to
    // its token limit: the end is waited for longer than a stubbed turn would need.
    const said = await session.waitFor(
      "how the dialogue ended",
      () =>
        session.execute(
          "return [...document.querySelectorAll('[data-testid=toast]')].map((t) => t.textContent).find((t) => /dialogue (ended|failed)/.test(t))",
        ),
      90000,
    );
    assert.match(said, /verdict|recorded/);
    await screenshot(session, "world-dialogue");
  } finally {
    await quit(session);
  }
});

test("a pair picked with Shift+click argues in its own bubbles", async () => {
  const session = await launch(dataDir());
  try {
    await session.clickAt(centre(await morph(session, "ROBIN")));
    await session.shiftClickAt(centre(await morph(session, "BABS")));
    const title = await session.waitFor("the pair's Dialogue in the halo", () =>
      session.execute("return document.querySelector('[data-testid=halo-dialogue]')?.title"),
    );
    assert.match(title, /^ROBIN and BABS argue/);
    await clickOnScreen(session, "halo-dialogue");
    await session.type(await session.byTestId("chat-input"), "Is a kite a toy or a tool?");
    await session.click(await session.byTestId("chat-send"));
    const started = await session.waitFor("the dialogue's sides", () =>
      session.execute(
        "return [...document.querySelectorAll('[data-testid=toast]')].map((t) => t.textContent).find((t) => t.includes(' argue (at most'))",
      ),
    );
    assert.match(started, /^ROBIN and BABS argue \(at most 3 rounds\): Is a kite/);
    for (const who of ["ROBIN", "BABS"]) {
      const text = await session.waitFor(`${who}'s first turn`, async () => {
        const t = await session.text(await session.byTestId(`bubble-${who}`));
        return /Round 1: \S/.test(t) ? t : null;
      });
      assert.match(text, /Round 1: \S/);
    }
    await screenshot(session, "world-dialogue-pair");
  } finally {
    await quit(session);
  }
});

test("a chat streams into the persona's bubble and the VRAM bar shows its model", async () => {
  const session = await launch(dataDir());
  try {
    // ALFRED is pinned: the scheduler loads phi3 as the app starts. (The stub is shared by
    // the whole run: an earlier test's model may still be loaded beside it.)
    const inBar = () =>
      session.execute(
        "return [...document.querySelectorAll('[data-testid=vram] .vram-seg')].map((s) => s.dataset.model);",
      );
    await session.waitFor("ALFRED's model in the VRAM bar", async () => {
      const models = await inBar();
      return models.includes("phi3:3.8b") ? models : null;
    });
    await session.clickAt(centre(await morph(session, "ROBIN")));
    await session.type(await session.byTestId("chat-input"), "How are you today?");
    await session.click(await session.byTestId("chat-send"));
    const text = await session.waitFor("ROBIN's reply", async () => {
      const t = await session.text(await session.byTestId("bubble-ROBIN"));
      return t.includes("today?") ? t : null;
    });
    assert.match(text, /You said: How are you today\?/);
    const vram = await session.waitFor("gemma2 in the VRAM bar", async () => {
      const t = await session.text(await session.byTestId("vram"));
      return t.includes("7.6 GB") ? t : null;
    });
    assert.match(vram, /VRAM 7.6 GB \/ 8 GiB/);
    await screenshot(session, "world-chat");
  } finally {
    await quit(session);
  }
});

test("the debugger lists a cycle that failed", async () => {
  const dir = dataDir();
  const ops = join(dir, "ops.json");
  writeFileSync(ops, JSON.stringify([
    { op: "new", name: "gadget", parents: ["tool"] },
    { op: "add-parent", object: "gadget", parent: "nowhere" },
  ]));
  assert.throws(() => cli(dir, "apply", ops), /unknown object 'nowhere'/);
  const failed = JSON.parse(cli(dir, "cycles", "ls", "--json"))[0];
  const session = await launch(dir);
  try {
    await session.click(await session.byTestId("open-debugger"));
    await switchToPage(session, "debugger.html");
    await session.waitReady();
    const row = await session.waitFor("the failed cycle's row", () => session.byTestId(`cycle-row-${failed.id}`));
    assert.equal(await session.attr(row, "data-state"), "suspended");
    const error = await session.waitFor("the cycle's error", async () => session.text(await session.byTestId("cycle-error")));
    assert.match(error, /unknown object 'nowhere'/);
    await screenshot(session, "debugger");
  } finally {
    await quit(session);
  }
});

test("the inspector edits a slot, the world follows, and an invalid edit changes nothing", async () => {
  const session = await launch(dataDir());
  try {
    const main = await inspectViaHalo(session, "BRICK");
    assert.equal(await session.text(await session.byTestId("object-name")), "BRICK");

    // A valid edit: BRICK's position, added as a slot here, moves its morph in the world.
    await session.type(await session.byTestId("add-slot-name"), "position");
    await session.type(await session.byTestId("add-slot-value"), '{"x": 620, "y": 380}');
    await session.click(await session.byTestId("add-slot-save"));
    await session.waitFor("the new slot to show", () => session.byTestId("slot-row-position"));

    // An invalid edit: an error by the editor, and the image keeps the old value.
    const before = slot(await object(session, "BRICK"), "role").json;
    await session.click(await session.byTestId("slot-edit-role"));
    await session.type(await session.byTestId("slot-editor-role"), '{"engineer');
    await session.click(await session.byTestId("slot-save-role"));
    const error = await session.waitFor("the inline error", async () =>
      session.text(await session.byTestId("slot-error-role")),
    );
    assert.ok(error.length > 0, "the error says what is wrong");
    assert.equal(slot(await object(session, "BRICK"), "role").json, before);
    await screenshot(session, "inspector");

    await session.switchTo(main);
    const moved = await session.waitFor("BRICK to move in the world", async () => {
      const m = await morph(session, "BRICK");
      return m.x === 620 ? m : null;
    });
    assert.equal(moved.x, 620);
  } finally {
    await quit(session);
  }
});

test("an inspector that navigated to a parent is the one brought forward for that parent", async () => {
  const session = await launch(dataDir());
  try {
    const main = await inspectViaHalo(session, "BRICK");
    const genesis = (await object(session, "genesis")).id;
    await session.click(await session.byTestId(`parent-link-${genesis}`));
    await session.waitFor("the inspector to show genesis", async () =>
      (await session.text(await session.byTestId("object-name"))) === "genesis",
    );
    await session.switchTo(main);
    const r = await session.invoke("open_inspector", { object: "genesis" });
    assert.equal(r.err, undefined, JSON.stringify(r.err));
    await new Promise((done) => setTimeout(done, 500));
    assert.equal((await session.windows()).length, 2, "no second inspector on genesis");
  } finally {
    await quit(session);
  }
});

test("a codex edit waits for approval in the world window, and approving it changes the persona", async () => {
  const dir = dataDir();
  const session = await launch(dir);
  try {
    const file = join(dir, "codex", "BABS.json");
    const codex = await session.waitFor("BABS's codex file", () => {
      try {
        return readFileSync(file, "utf8");
      } catch {
        return null;
      }
    });
    // A priority change and a change at the very end of a long prompt: both shown whole.
    const edited = JSON.parse(codex);
    assert.equal(edited.priority, 1);
    edited.priority = 2;
    edited.system_prompt += " Always name the document you used.";
    writeFileSync(file, `${JSON.stringify(edited, null, 2)}\n`);
    await session.waitFor("the Amendments button", () =>
      session.execute(
        "const b = document.querySelector('[data-testid=open-amendments]'); return b && !b.classList.contains('hidden') ? b.textContent : null;",
      ),
    );
    await session.click(await session.byTestId("open-amendments"));
    const shown = await session.text(await session.byTestId("amendment-BABS"));
    assert.match(shown, /priority: 1 → 2/);
    const added = await session.execute(
      "return [...document.querySelectorAll('[data-testid=amendment-BABS] li[data-field=system_prompt] ins')].map((e) => e.textContent).join('|')",
    );
    assert.equal(added, " Always name the document you used.");
    await screenshot(session, "amendments");
    await session.click(await session.byTestId("approve-BABS"));
    await session.waitFor("the approval's toast", () =>
      session.execute(
        "return [...document.querySelectorAll('[data-testid=toast]')].map((t) => t.textContent).find((t) => /approved/.test(t))",
      ),
    );
  } finally {
    await quit(session);
  }
  const babs = JSON.parse(cli(dir, "obj", "show", "BABS", "--json"));
  assert.equal(babs.slots.priority, 2);
  assert.match(babs.slots.system_prompt, /Always name the document you used\.$/);
});

/** A second FAKE Ollama whose BRICK (mistral:7b) answers with `replies` (a fixture file). */
async function brickStub(replies) {
  const stub = spawn(STUB, ["--replies", replies], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    stub.stdout.once("data", (d) => resolve(String(d).trim()));
    stub.once("exit", (code) => reject(new Error(`ollama-stub exited with ${code}`)));
  });
  return { stub, url };
}

test("a failed forge shows as dissonance on BRICK and is fixed and resumed in the Debugger", async () => {
  const dir = dataDir();
  cli(dir, "obj", "new", "abacus", "--parent", "genesis");
  // BRICK's three attempts all fail (an off-by-one, a reply with no JSON, the off-by-one again).
  const { stub, url } = await brickStub(join(ROOT, "tests/fixtures/forge/always-failing.json"));
  let failed;
  try {
    execFileSync(CLI, ["--data-dir", dir, "forge", "abacus", "total", "return the sum of the numbers in args"], {
      encoding: "utf8",
      env: appEnv(url),
    });
    assert.fail("the forge should have failed");
  } catch (e) {
    failed = String(e.stderr).match(/its cycle (\S+)/)?.[1];
  } finally {
    stub.kill();
  }
  assert.ok(failed, "the failed forge names its cycle");
  const session = await launch(dir);
  try {
    const pill = await session.waitFor("BRICK's dissonance badge, on its morph", async () => {
      try {
        const el = await session.byTestId("dissonance-BRICK");
        return (await session.attr(el, "data-placed")) === "true" ? el : null;
      } catch {
        return null;
      }
    });
    assert.equal(await session.attr(pill, "data-cycle"), failed);
    await screenshot(session, "world-dissonance");
    const main = await session.window();
    await clickOnScreen(session, "dissonance-BRICK");
    await switchToPage(session, "debugger.html");
    await session.waitReady();
    await session.waitFor("the forge's attempts", () => session.byTestId("attempt-3"));
    assert.equal(await session.text(await session.byTestId("attempt-verdict-3")), "failed");
    assert.match(await session.text(await session.byTestId("attempt-why-1")), /AssertionError/);
    // Fix attempt 3's off-by-one and resume from it.
    // (WebKitWebDriver types no newlines into a textarea: the fix fits on one line.)
    await session.type(await session.byTestId("attempt-code-3"), "def run(args): return sum(args)");
    await screenshot(session, "debugger-forge");
    await clickOnScreen(session, "resume-attempt-3");
    const result = await session.waitFor("the resume's result", async () => {
      try {
        return await session.text(await session.byTestId("resume-result"));
      } catch {
        return null;
      }
    });
    assert.match(result, /Installed abacus\.total after 4 attempt\(s\)/);
    await screenshot(session, "debugger-forge-resumed");
    await session.switchTo(main);
    const abacus = await object(session, "abacus");
    const total = abacus.methods.find((m) => m.selector === "total");
    assert.ok(total, `abacus has total: ${JSON.stringify(abacus.methods)}`);
    assert.equal(total.source, "def run(args): return sum(args)");
  } finally {
    await quit(session);
  }
  // The suspended cycle is resolved, and the installed method answers from the CLI.
  const shown = JSON.parse(cli(dir, "cycles", "show", failed, "--json"));
  assert.equal(shown.summary.state, "resumed");
  assert.equal(JSON.parse(cli(dir, "send", "abacus", "total", "[3, 4]", "--json")), 7);
});
