// The desktop's world benchmark: in the app's own WebView under Xvfb (software rendering),
// 1,000 morphs drawn by the world's renderer vs a raw canvas fillRect loop of the same
// rectangles in the same page; prints the p95 frame-cost ratio (goal ≤ 1.5×).
// Run: bash scripts/bench-desktop [COUNT] [FRAMES].

import { dataDir, launch, quit, startDriver, stopDriver } from "./harness.mjs";

const count = Number(process.argv[2] ?? 1000);
const frames = Number(process.argv[3] ?? 240);

await startDriver();
try {
  const session = await launch(dataDir());
  try {
    const here = await session.cmd("GET", "/url");
    await session.cmd("POST", "/url", { url: new URL(`bench.html?count=${count}&frames=${frames}`, here).href });
    const r = await session.waitFor("the benchmark to finish", () => session.execute("return window.__telosBench || null;"), 300000);
    const line = (what, c) =>
      console.log(
        `${what} (${c.count} morphs, ${c.frames} frames) p95 vs raw fillRect loop of the same rects p95: ` +
          `${c.worldP95.toFixed(2)} ms vs ${c.baselineP95.toFixed(2)} ms → ${c.ratio.toFixed(2)}× ` +
          `(goal ≤ ${c.goal}×: ${c.met ? "met" : "MISSED"}); p50 ${c.worldP50.toFixed(2)} ms vs ${c.baselineP50.toFixed(2)} ms`,
      );
    line("world drag frame (damage repaint)", r.drag);
    line("world full frame (whole canvas, cached images, occlusion culling)", r.full);
    const k = r.culling;
    console.log(
      `occlusion culling: ${k.drawnWith} of ${k.drawnWithout} morphs drawn in a full frame; ` +
        `picture with vs without culling: ${k.identical ? "identical" : `${k.differingBytes} bytes differ`}`,
    );
    if (!k.identical) throw new Error("occlusion culling changed the picture");
  } finally {
    await quit(session);
  }
} finally {
  stopDriver();
}
