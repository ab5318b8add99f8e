// The desktop's cold-start benchmark: launch to first painted world (the page's readiness flag,
// set after its first frame) for Telos on an awakened image vs a hello-world Tauri app built
// the same way (tests/hello-tauri), through the same WebDriver path, alternating launches.
// Run: bash scripts/bench-desktop (after the world benchmark).

import { join } from "node:path";
import { Session } from "./webdriver.mjs";
import { TARGET, dataDir, launch, quit, startDriver, stopDriver } from "./harness.mjs";

const rounds = Number(process.argv[2] ?? 5);
const HELLO = join(TARGET, "debug/hello-tauri");
const BASE = "http://127.0.0.1:4444";

async function timeTelos(dir) {
  const t = performance.now();
  const session = await launch(dir);
  const took = performance.now() - t;
  await quit(session);
  return took;
}

async function timeHello() {
  const t = performance.now();
  const session = await Session.start(BASE, { "tauri:options": { application: HELLO } });
  await session.waitReady();
  const took = performance.now() - t;
  await session.end();
  return took;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await startDriver();
try {
  const dir = dataDir();
  await quit(await launch(dir)); // the awakening happens once, not in the timings
  await timeHello(); // warm the page cache for both alike
  const telos = [];
  const hello = [];
  for (let i = 0; i < rounds; i++) {
    telos.push(await timeTelos(dir));
    hello.push(await timeHello());
  }
  const ratio = median(telos) / median(hello);
  console.log(
    `cold start to first painted world, median of ${rounds}: Telos ${median(telos).toFixed(0)} ms vs ` +
      `hello-world Tauri ${median(hello).toFixed(0)} ms → ${ratio.toFixed(2)}× (goal ≤ 1.5×: ${ratio <= 1.5 ? "met" : "MISSED"})`,
  );
} finally {
  stopDriver();
}
