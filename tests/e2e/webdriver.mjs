// A small W3C WebDriver client over fetch: just what the end-to-end tests need to drive the
// Telos desktop app through tauri-driver (which fronts WebKitWebDriver). Test tooling.

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export class WebDriverError extends Error {}

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  /** Starts the app: `capabilities` go in `alwaysMatch` (no browserName, as tauri-driver wants). */
  static async start(base, capabilities) {
    // A launch takes a second or two; an app that dies before its window opens leaves the
    // request hanging, so it is given up after a minute.
    const res = await request(base, "POST", "/session", { capabilities: { alwaysMatch: capabilities } }, 60_000);
    return new Session(base, res.sessionId);
  }

  cmd(method, path, body) {
    return request(this.base, method, `/session/${this.id}${path}`, body);
  }

  async end() {
    await this.cmd("DELETE", "").catch(() => {});
  }

  /** Runs `script` (a function body) in the page and returns its value. */
  execute(script, ...args) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  /** Runs async `script`: its last argument is the callback to call with the result. */
  executeAsync(script, ...args) {
    return this.cmd("POST", "/execute/async", { script, args });
  }

  /** Calls a Tauri command the way the UI does and returns its raw answer. */
  invoke(command, args = {}) {
    return this.executeAsync(
      `const done = arguments[arguments.length - 1];
       window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
         .then((v) => done({ ok: v }), (e) => done({ err: e }));`,
      command,
      args,
    );
  }

  async find(css) {
    const el = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return el[ELEMENT];
  }

  async findAll(css) {
    const els = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return els.map((e) => e[ELEMENT]);
  }

  byTestId(id) {
    return this.find(`[data-testid="${id}"]`);
  }

  click(el) {
    return this.cmd("POST", `/element/${el}/click`, {});
  }

  async type(el, text) {
    await this.cmd("POST", `/element/${el}/clear`, {});
    return this.cmd("POST", `/element/${el}/value`, { text });
  }

  text(el) {
    return this.cmd("GET", `/element/${el}/text`);
  }

  attr(el, name) {
    return this.cmd("GET", `/element/${el}/attribute/${name}`);
  }

  actions(actions) {
    return this.cmd("POST", "/actions", { actions });
  }

  /** Presses at `from`, moves in steps to `to`, releases: a real pointer drag in the page. */
  drag(from, to, steps = 8) {
    const moves = [];
    for (let i = 1; i <= steps; i++) {
      moves.push({
        type: "pointerMove",
        duration: 20,
        origin: "viewport",
        x: Math.round(from.x + ((to.x - from.x) * i) / steps),
        y: Math.round(from.y + ((to.y - from.y) * i) / steps),
      });
    }
    return this.actions([
      {
        type: "pointer",
        id: "mouse",
        parameters: { pointerType: "mouse" },
        actions: [
          { type: "pointerMove", duration: 0, origin: "viewport", x: Math.round(from.x), y: Math.round(from.y) },
          { type: "pointerDown", button: 0 },
          ...moves,
          { type: "pointerUp", button: 0 },
        ],
      },
    ]);
  }

  clickAt(p) {
    return this.drag(p, p, 0);
  }

  /** A click at `p` with Shift held (a key source and the pointer, tick by tick). */
  shiftClickAt(p) {
    const SHIFT = "\uE008";
    return this.actions([
      {
        type: "key",
        id: "keyboard",
        actions: [
          { type: "keyDown", value: SHIFT },
          { type: "pause", duration: 0 },
          { type: "pause", duration: 0 },
          { type: "pause", duration: 0 },
          { type: "keyUp", value: SHIFT },
        ],
      },
      {
        type: "pointer",
        id: "mouse",
        parameters: { pointerType: "mouse" },
        actions: [
          { type: "pause", duration: 0 },
          { type: "pointerMove", duration: 0, origin: "viewport", x: Math.round(p.x), y: Math.round(p.y) },
          { type: "pointerDown", button: 0 },
          { type: "pointerUp", button: 0 },
          { type: "pause", duration: 0 },
        ],
      },
    ]);
  }

  windows() {
    return this.cmd("GET", "/window/handles");
  }

  window() {
    return this.cmd("GET", "/window");
  }

  switchTo(handle) {
    return this.cmd("POST", "/window", { handle });
  }

  screenshot() {
    return this.cmd("GET", "/screenshot");
  }

  /** Polls `check` (an async function) until it returns a truthy value. */
  async waitFor(what, check, timeoutMs = 20000) {
    const end = Date.now() + timeoutMs;
    let last;
    for (;;) {
      try {
        last = await check();
        if (last) return last;
      } catch (e) {
        last = e;
      }
      if (Date.now() > end) throw new WebDriverError(`timed out waiting for ${what} (last: ${last})`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  /** Waits for the page to say it has rendered its first data. */
  waitReady() {
    return this.waitFor("the page to be ready", () =>
      this.execute("return document.body && document.body.dataset.ready === 'true';"),
    );
  }
}

async function request(base, method, path, body, timeoutMs) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok || (json.value && json.value.error)) {
    const v = json.value || {};
    throw new WebDriverError(`${method} ${path}: ${v.error || res.status}: ${v.message || ""}`);
  }
  return json.value;
}
