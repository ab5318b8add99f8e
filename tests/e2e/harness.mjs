// Starts what the end-to-end tests need: tauri-driver (in front of WebKitWebDriver) and, per
// test, the Telos app on a fresh data dir. Runs under Xvfb (scripts/e2e). Test tooling.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Session } from "./webdriver.mjs";

export const ROOT = resolve(import.meta.dirname, "../..");
export const TARGET = process.env.CARGO_TARGET_DIR || join(process.env.HOME, ".cache/telos-target");
export const APP = join(TARGET, "debug/telos-desktop");
export const CLI = join(TARGET, "debug/telos");
export const STUB = join(TARGET, "debug/ollama-stub");
export const ARTIFACTS = join(TARGET, "e2e-artifacts");
const PORT = 4444;
const BASE = `http://127.0.0.1:${PORT}`;

let driver;
/** The FAKE Ollamas of this file's run: the first is OLLAMA_HOST, the others more hosts. */
const stubs = [];

/** DESIGN.md's models on an 8 GiB card, except BRICK's mistral:7b, which is "not pulled". */
const STUB_MODELS = [
  { name: "phi3:3.8b", size: "2.2GB", load_ms: 50 },
  { name: "gemma2:9b", size: "5.4GB", load_ms: 200 },
  { name: "qwen2:7b", size: "4.4GB", load_ms: 100 },
];

/**
 * The FAKE Ollama every app of the run talks to (tests/common/ollama_stub.rs): `models`
 * (default STUB_MODELS), and `replies` (a fixture file) scripting what they say.
 */
async function startStub({ models = STUB_MODELS, replies, capacity = "8GiB" } = {}) {
  const script = join(mkdtempSync(join(tmpdir(), "telos-stub-")), "script.json");
  writeFileSync(script, JSON.stringify({ capacity, token_ms: 30, models }));
  const args = ["--script", script, ...(replies ? ["--replies", replies] : [])];
  const stub = spawn(STUB, args, { stdio: ["ignore", "pipe", "inherit"] });
  stubs.push(stub);
  const url = await new Promise((resolve, reject) => {
    stub.stdout.once("data", (d) => resolve(String(d).trim()));
    stub.once("exit", (code) => reject(new Error(`ollama-stub exited with ${code}`)));
  });
  return url;
}

/**
 * The environment every app of the run gets: the stub as Ollama, and the VRAM budget pinned
 * to the stub's 8 GiB card (else the app would read the budget from this machine's GPU);
 * with `more` hosts (`{ url, capacity }`), OLLAMA_HOSTS names them all with their budgets.
 */
export function appEnv(ollama, more = []) {
  const env = { ...process.env, OLLAMA_HOST: ollama, TELOS_VRAM_BUDGET: "8GiB" };
  delete env.OLLAMA_HOSTS;
  if (more.length > 0) {
    env.OLLAMA_HOSTS = [`${ollama}=8GiB`, ...more.map((h) => `${h.url}=${h.capacity ?? "8GiB"}`)].join(",");
  }
  return env;
}

/**
 * Starts the Ollama stub (its `models` and `replies` as `startStub` takes them; `moreHosts`, a
 * `{ models, capacity }` each, starts more stubs as more Ollama hosts) and tauri-driver once
 * for the whole file (apps inherit its env).
 */
export async function startDriver({ moreHosts = [], ...stubOptions } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const ollama = await startStub(stubOptions);
  const more = [];
  for (const h of moreHosts) {
    more.push({ url: await startStub(h), capacity: h.capacity ?? "8GiB" });
  }
  driver = spawn("tauri-driver", ["--port", String(PORT), "--native-port", String(PORT + 1)], {
    stdio: ["ignore", "inherit", "inherit"],
    env: appEnv(ollama, more),
  });
  const end = Date.now() + 20000;
  while (Date.now() < end) {
    try {
      const r = await fetch(`${BASE}/status`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("tauri-driver did not start listening");
}

export function stopDriver() {
  driver?.kill();
  for (const stub of stubs.splice(0)) stub.kill();
}

/** A fresh data dir. */
export function dataDir() {
  return mkdtempSync(join(tmpdir(), "telos-e2e-"));
}

/**
 * Launches the app on `dir` and waits for its world to render. A launch whose app died
 * before its window opened is tried once more, saying so: under Xvfb on a loaded machine GTK
 * has once failed to initialise ("Failed to initialize GTK", the app's panic is in the log).
 */
export async function launch(dir) {
  const capabilities = { "tauri:options": { application: APP, args: ["--data-dir", dir] } };
  let session;
  try {
    session = await Session.start(BASE, capabilities);
  } catch (e) {
    console.error(`launch: the app did not start (${e.message}); trying once more`);
    session = await Session.start(BASE, capabilities);
  }
  session.dataDir = dir;
  await session.waitReady();
  return session;
}

/** Ends the session and waits until the app has let go of its data dir (its lock is free). */
export async function quit(session) {
  await session.end();
  const lock = join(session.dataDir, "telos.lock");
  await session.waitFor("the app to release its data dir", () => {
    try {
      execFileSync("flock", ["--nonblock", lock, "true"]);
      return true;
    } catch {
      return false;
    }
  });
}

/** Runs the `telos` CLI on a data dir the app does not hold; returns stdout. */
export function cli(dir, ...args) {
  return execFileSync(CLI, ["--data-dir", dir, ...args], { encoding: "utf8" });
}

/** The morphs as the world draws them (viewport coordinates). */
export function morphs(session) {
  return session.execute("return window.__telosWorld();");
}

export async function morph(session, name) {
  const all = await morphs(session);
  const m = all.find((x) => x.name === name);
  if (!m) throw new Error(`no morph ${name} in ${all.map((x) => x.name)}`);
  return m;
}

export const centre = (m) => ({ x: m.x + m.width / 2, y: m.y + m.height / 2 });

/**
 * Scrolls the element with `testid` into view and clicks its centre with the pointer, as a
 * user does. (WebKitWebDriver's element click calls an element moved by a CSS transform, or
 * one below the fold of an inner scroll pane, "not interactable".)
 */
export async function clickOnScreen(session, testid) {
  const [x, y] = await session.execute(
    `const el = document.querySelector('[data-testid="' + arguments[0] + '"]');
     el.scrollIntoView({ block: "center" });
     const r = el.getBoundingClientRect();
     return [r.x + r.width / 2, r.y + r.height / 2];`,
    testid,
  );
  await session.clickAt({ x, y });
}

/** Saves a screenshot of the current window under the artifacts dir. */
export async function screenshot(session, name) {
  const png = await session.screenshot();
  const path = join(ARTIFACTS, `${name}.png`);
  writeFileSync(path, Buffer.from(png, "base64"));
  return path;
}

/** Switches to the window whose URL contains `page`, waiting for it to open. */
export async function switchToPage(session, page) {
  return session.waitFor(`a window showing ${page}`, async () => {
    for (const handle of await session.windows()) {
      await session.switchTo(handle);
      const url = await session.cmd("GET", "/url");
      if (url.includes(page)) return handle;
    }
    return null;
  });
}

export async function object(session, name) {
  const r = await session.invoke("object", { object: name });
  if (r.err) throw new Error(`object ${name}: ${JSON.stringify(r.err)}`);
  return r.ok;
}

export function slot(view, name) {
  return view.slots.find((s) => s.name === name);
}

/** Opens the Inspector on a morph the way a user does (click it, then the halo's Inspect) and
 * switches to that window; returns the main window's handle. */
export async function inspectViaHalo(session, name) {
  const main = await session.window();
  await session.clickAt(centre(await morph(session, name)));
  await session.click(await session.byTestId("halo-inspect"));
  await switchToPage(session, "inspector.html");
  await session.waitReady();
  return main;
}

/** Drags `file` from a GTK drag source onto viewport point `to` of the Telos window, for real. */
export async function osDrop(file, to) {
  const source = spawn("/usr/bin/python3", [join(import.meta.dirname, "drag_source.py"), "1150", "700", file], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    await new Promise((resolve, reject) => {
      source.stdout.on("data", (d) => String(d).includes("READY") && resolve());
      source.on("exit", (code) => reject(new Error(`drag source exited (${code})`)));
    });
    const win = execFileSync("xdotool", ["search", "--name", "^Telos$", "getwindowgeometry", "--shell"], { encoding: "utf8" });
    const geometry = Object.fromEntries(win.trim().split("\n").map((l) => l.split("=")));
    const target = { x: Number(geometry.X) + to.x, y: Number(geometry.Y) + to.y };
    const xdo = (...args) => execFileSync("xdotool", args.map(String));
    xdo("mousemove", 1190, 740);
    xdo("mousedown", 1);
    const steps = 30;
    for (let i = 1; i <= steps; i++) {
      xdo("mousemove", Math.round(1190 + ((target.x - 1190) * i) / steps), Math.round(740 + ((target.y - 740) * i) / steps));
      await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise((r) => setTimeout(r, 200));
    xdo("mouseup", 1);
  } finally {
    setTimeout(() => source.kill(), 500);
  }
}
