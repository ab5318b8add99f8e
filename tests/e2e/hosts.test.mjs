// Several Ollama hosts (OLLAMA_HOSTS) in the world window, with two FAKE Ollamas: one VRAM bar
// per host, each named by its host and measured against its own budget, in a toolbar whose
// buttons all stay inside the window and answer a click.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { dataDir, launch, quit, screenshot, startDriver, stopDriver, switchToPage } from "./harness.mjs";

before(() =>
  startDriver({
    moreHosts: [
      {
        capacity: "24GiB",
        models: [
          { name: "mistral:7b", size: "4.1GB", load_ms: 50 },
          { name: "qwen2:7b", size: "4.4GB", load_ms: 50 },
        ],
      },
    ],
  }),
);
after(stopDriver);

test("with two Ollama hosts the world shows a bar per host and every toolbar button stays on screen", async () => {
  const session = await launch(dataDir());
  try {
    const second = await session.waitFor("the second host's VRAM bar", async () => {
      const t = await session.execute(
        `return document.querySelector("[data-testid=hosts] .vram-caption")?.textContent ?? null;`,
      );
      return t && t.includes("24 GiB") ? t : null;
    });
    assert.match(second, /^127\.0\.0\.1:\d+ \d+\.\d GB \/ 24 GiB/);
    assert.match(await session.text(await session.byTestId("vram")), /^127\.0\.0\.1:\d+ \d+\.\d GB \/ 8 GiB/);

    const layout = await session.execute(`
      const width = document.documentElement.clientWidth;
      const box = (el) => { const r = el.getBoundingClientRect(); return { id: el.id, left: r.left, right: r.right }; };
      return {
        width,
        scrollWidth: document.documentElement.scrollWidth,
        crowded: document.querySelector(".toolbar").classList.contains("crowded"),
        meters: box(document.querySelector("[data-testid=meters]")),
        buttons: [...document.querySelectorAll(".toolbar > button")].filter((b) => b.offsetParent !== null).map(box),
      };`);
    assert.ok(layout.crowded, "the toolbar is marked crowded with several hosts");
    assert.ok(layout.scrollWidth <= layout.width, `the window scrolls sideways: ${JSON.stringify(layout)}`);
    assert.ok(layout.buttons.length >= 4, JSON.stringify(layout.buttons));
    for (const b of layout.buttons) {
      assert.ok(b.right <= layout.width, `${b.id} runs off the window: ${JSON.stringify(layout)}`);
      assert.ok(b.left >= layout.meters.right, `${b.id} overlaps the meters: ${JSON.stringify(layout)}`);
    }
    await screenshot(session, "world-two-hosts");

    // A toolbar button answers a click as a user makes it.
    await session.click(await session.byTestId("open-playground"));
    await switchToPage(session, "playground.html");
  } finally {
    await quit(session);
  }
});
