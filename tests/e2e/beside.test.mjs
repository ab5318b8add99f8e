// The CLI beside the running app: with the app open on a data dir, `telos ingest` from a
// terminal is carried out by the app (over DATA_DIR/telos.sock), and the persona's morph counts
// the new document without a reload; `telos obj new` shows in the world's image at once.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CLI, dataDir, launch, morph, object, quit, screenshot, startDriver, stopDriver } from "./harness.mjs";

before(startDriver);
after(stopDriver);

test("with the app open, telos ingest from a terminal goes to the app and the morph's badge updates", async () => {
  const dir = dataDir();
  const file = join(dir, "tide-table.txt");
  writeFileSync(file, "High tide at the harbour comes at 06:12 and 18:40; the spring tides run a metre higher.");
  const session = await launch(dir);
  try {
    const socket = join(dir, "telos.sock");
    await session.waitFor("the app's CLI socket", () => existsSync(socket));
    assert.equal(statSync(socket).mode & 0o777, 0o600, "owner-only socket");
    const out = execFileSync(CLI, ["--data-dir", dir, "ingest", "--persona", "BABS", file, "--json"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    assert.equal(JSON.parse(out).documents, 1);
    await session.waitFor("BABS's morph to count 1 doc", async () => (await morph(session, "BABS")).badges.includes("1 doc"));
    const babs = await object(session, "BABS");
    assert.equal(babs.links.find((l) => l.relation === "memory")?.count, 1);
    execFileSync(CLI, ["--data-dir", dir, "obj", "new", "Harbour"], { stdio: "ignore" });
    const harbour = await session.invoke("object", { object: "Harbour" });
    assert.ok(harbour.ok, JSON.stringify(harbour));
    await screenshot(session, "world-after-cli-ingest");
  } finally {
    await quit(session);
  }
});

test("on a full disk the world window says it is read-only, and the banner goes once space returns", async () => {
  // A small disk of its own (CI runs as root): the data dir on a 192 MiB tmpfs.
  const mount = dataDir();
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=192m", "tmpfs", mount]);
  const dir = join(mount, "data");
  const banner = () => session.execute(`return document.querySelector("[data-testid=read-only]")?.textContent ?? null;`);
  let session;
  try {
    session = await launch(dir);
    await session.waitFor("the app's CLI socket", () => existsSync(join(dir, "telos.sock")));
    assert.equal(await banner(), null);
    const filler = join(mount, "filler");
    // Fills the disk (dd stops at "No space left on device").
    try {
      execFileSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=1M"], { stdio: "ignore" });
    } catch {
      // the disk is full
    }
    // A cycle writing 4 MB: more than the store's log has room for.
    const ops = join(dataDir(), "big.json");
    writeFileSync(ops, JSON.stringify([{ op: "new", name: "Harbour", parents: [] }, { op: "set", object: "Harbour", slot: "log", value: "x".repeat(4 << 20) }]));
    assert.throws(
      () => execFileSync(CLI, ["--data-dir", dir, "apply", ops], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }),
      /No space left on device/,
    );
    await session.waitFor("the read-only banner", async () => (await banner())?.includes("free some space"));
    await screenshot(session, "read-only");
    execFileSync("rm", [filler]);
    await session.waitFor("the banner to go once space returns", async () => (await banner()) === null, 15000);
    execFileSync(CLI, ["--data-dir", dir, "apply", ops], { stdio: "ignore" });
    const harbour = await session.invoke("object", { object: "Harbour" });
    assert.ok(harbour.ok, JSON.stringify(harbour));
  } finally {
    if (session) await quit(session);
    execFileSync("umount", ["-l", mount]);
  }
});
