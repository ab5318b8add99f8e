// The installed app's cold-start benchmark, run by scripts/deb-inside as an ordinary user in
// the clean Debian 12 container, under Xvfb: /usr/bin/telos-desktop (from the .deb, on the
// user's own data dir, already awakened) vs the hello-world Tauri app built the same way
// (tests/hello-tauri), through tauri-driver and Debian's WebKitWebDriver. Appends its line to
// the file named by its third argument. Test tooling.
//
// Run: node bench_installed.mjs ROUNDS HELLO_BINARY FIGURES_FILE (tauri-driver on the PATH)

import { spawn, execFileSync } from "node:child_process";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { Session } from "./webdriver.mjs";
import { compareStarts, timeHello } from "./startbench.mjs";

const [rounds, hello, figures] = [Number(process.argv[2] ?? 3), process.argv[3], process.argv[4]];
const PORT = 4454;
const BASE = `http://127.0.0.1:${PORT}`;
const LOCK = join(process.env.HOME, ".local/share/telos/telos.lock");

const driver = spawn("tauri-driver", ["--port", String(PORT), "--native-port", String(PORT + 1)], {
  stdio: ["ignore", "inherit", "inherit"],
});
try {
  const end = Date.now() + 20000;
  for (;;) {
    try {
      if ((await fetch(`${BASE}/status`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error("tauri-driver did not start listening");
    await new Promise((r) => setTimeout(r, 100));
  }
  const telos = async () => {
    const t = performance.now();
    const session = await Session.start(BASE, { "tauri:options": { application: "/usr/bin/telos-desktop" } });
    await session.waitReady();
    const took = performance.now() - t;
    await session.end();
    // The next launch waits for this one to let go of the data dir.
    await session.waitFor("the app to release its data dir", () => {
      try {
        execFileSync("flock", ["--nonblock", LOCK, "true"]);
        return true;
      } catch {
        return false;
      }
    });
    return took;
  };
  const line = await compareStarts({
    rounds,
    what: "installed (.deb, debug build):",
    telos,
    hello: () => timeHello(BASE, hello),
  });
  appendFileSync(figures, `${line}\n`);
} finally {
  driver.kill();
}
