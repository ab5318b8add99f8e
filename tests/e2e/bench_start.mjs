// The desktop's cold-start benchmark in the build tree: Telos on an awakened image vs a
// hello-world Tauri app built the same way (startbench.mjs). Run: bash scripts/bench-desktop
// (after the world benchmark). The installed .deb's figure: bench_installed.mjs.

import { join } from "node:path";
import { compareStarts, timeHello } from "./startbench.mjs";
import { TARGET, dataDir, launch, quit, startDriver, stopDriver } from "./harness.mjs";

const rounds = Number(process.argv[2] ?? 5);
const HELLO = join(TARGET, "debug/hello-tauri");
const BASE = "http://127.0.0.1:4444";

await startDriver();
try {
  const dir = dataDir();
  await compareStarts({
    rounds,
    what: "build tree:",
    telos: async () => {
      const t = performance.now();
      const session = await launch(dir);
      const took = performance.now() - t;
      await quit(session);
      return took;
    },
    hello: () => timeHello(BASE, HELLO),
  });
} finally {
  stopDriver();
}
