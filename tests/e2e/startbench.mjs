// The cold-start comparison both start benchmarks make: launch to first painted world (the
// page's readiness flag, set after its first frame) for Telos vs a hello-world Tauri app built
// the same way (tests/hello-tauri), through the same WebDriver path, alternating launches.
// Used by bench_start.mjs (the build tree) and bench_installed.mjs (the .deb in a clean
// Debian 12, scripts/deb-inside). Test tooling.

import { Session } from "./webdriver.mjs";

/** Milliseconds from asking tauri-driver at `base` for `application` to its first paint. */
export async function timeHello(base, application) {
  const t = performance.now();
  const session = await Session.start(base, { "tauri:options": { application } });
  await session.waitReady();
  const took = performance.now() - t;
  await session.end();
  return took;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Times `rounds` launches of each, alternating (`telos` and `hello` each launch once, wait for
 * the first paint, quit and resolve with the milliseconds it took), after one unmeasured launch
 * of each (Telos's awakening and both apps' page cache are not in the timings). Prints the
 * medians and their ratio against the goal (≤ 1.5×), saying MISSED when it is not met, and
 * returns the line.
 */
export async function compareStarts({ rounds, telos, hello, what }) {
  await telos();
  await hello();
  const t = [];
  const h = [];
  for (let i = 0; i < rounds; i++) {
    t.push(await telos());
    h.push(await hello());
  }
  const ratio = median(t) / median(h);
  const line =
    `${what} cold start to first painted world, median of ${rounds}: Telos ${median(t).toFixed(0)} ms vs ` +
    `hello-world Tauri ${median(h).toFixed(0)} ms → ${ratio.toFixed(2)}× (goal ≤ 1.5×: ${ratio <= 1.5 ? "met" : "MISSED"})`;
  console.log(line);
  return line;
}
