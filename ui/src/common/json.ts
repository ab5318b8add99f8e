// JSON text as the image keeps it: checked, excerpted and pretty-printed without ever going
// through a JavaScript number (the image holds integers beyond 2^53 exactly; so must we).

/** Where and why a JSON text is not valid. Lines and columns count from 1. */
export type JsonProblem = { message: string; line: number; column: number; offset: number };

/** Nesting deeper than this is refused here rather than overflowing the stack. */
const MAX_DEPTH = 1000;

class Problem extends Error {
  constructor(
    readonly why: string,
    readonly offset: number,
  ) {
    super(why);
  }
}

/** Checks `text` is one JSON value; `null` when it is, else what is wrong and where. */
export function checkJson(text: string): JsonProblem | null {
  try {
    new Checker(text).document();
  } catch (e) {
    if (!(e instanceof Problem)) throw e;
    const { line, column } = position(text, e.offset);
    return { message: `${e.why} (line ${line}, column ${column})`, line, column, offset: e.offset };
  }
  try {
    JSON.parse(text); // belt and braces: agree with the engine's own parser
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { message: why, line: 1, column: 1, offset: 0 };
  }
  return null;
}

function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** Shows a character in a message: visible, and named when it is whitespace. */
function shown(c: string): string {
  if (c === "\n") return "a line break";
  if (c === "\t") return "a tab";
  if (c === "'") return "a single quote (JSON strings use double quotes)";
  return `'${c}'`;
}

/** Words people type for JSON's literals, and what to say about them. */
const LITERALS = new Map<string, string>([
  ["True", "JSON writes true in lowercase"],
  ["False", "JSON writes false in lowercase"],
  ["None", "JSON writes null, not None"],
  ["nil", "JSON writes null, not nil"],
  ["undefined", "JSON has no undefined; use null"],
  ["NaN", "JSON has no NaN; use null or a string"],
  ["Infinity", "JSON has no Infinity; use null or a string"],
]);

class Checker {
  private i = 0;
  constructor(private readonly s: string) {}

  document(): void {
    this.ws();
    if (this.i >= this.s.length) {
      throw new Problem("Empty: type a JSON value, e.g. null, 42, \"text\", [1, 2] or {\"a\": 1}", 0);
    }
    this.value(0);
    this.ws();
    if (this.i < this.s.length) {
      throw new Problem(`Unexpected ${shown(this.s[this.i] ?? "")} after the value`, this.i);
    }
  }

  private ws(): void {
    while (this.i < this.s.length && " \t\n\r".includes(this.s[this.i] ?? "")) this.i++;
  }

  private end(what: string): never {
    throw new Problem(`Unexpected end of text: ${what}`, this.s.length);
  }

  private value(depth: number): void {
    if (depth > MAX_DEPTH) throw new Problem("Nested too deeply", this.i);
    const c = this.s[this.i];
    if (c === undefined) this.end("expected a value");
    if (c === "{") return this.object(depth + 1);
    if (c === "[") return this.array(depth + 1);
    if (c === '"') return this.string();
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    for (const word of ["true", "false", "null"]) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return;
      }
    }
    const bare = /^[A-Za-z_][\w ]*/.exec(this.s.slice(this.i))?.[0]?.trim();
    const word = /^[A-Za-z]+/.exec(this.s.slice(this.i))?.[0] ?? "";
    const lower = LITERALS.get(word);
    if (lower) throw new Problem(lower, this.i);
    if (bare) {
      throw new Problem(`'${bare}' is not JSON: text needs double quotes, e.g. "${bare}"`, this.i);
    }
    throw new Problem(`Unexpected ${shown(c)}: expected a value`, this.i);
  }

  private object(depth: number): void {
    this.i++; // {
    this.ws();
    if (this.s[this.i] === "}") {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      const c = this.s[this.i];
      if (c === undefined) this.end("expected a property name or '}'");
      if (c === "}") throw new Problem("Trailing comma before '}'", this.i);
      if (c !== '"') {
        throw new Problem(`Unexpected ${shown(c)}: property names need double quotes`, this.i);
      }
      this.string();
      this.ws();
      const colon = this.s[this.i];
      if (colon === undefined) this.end("expected ':'");
      if (colon !== ":") throw new Problem(`Unexpected ${shown(colon)}: expected ':' after the property name`, this.i);
      this.i++;
      this.ws();
      this.value(depth);
      this.ws();
      const next = this.s[this.i];
      if (next === undefined) this.end("expected ',' or '}'");
      this.i++;
      if (next === "}") return;
      if (next !== ",") throw new Problem(`Unexpected ${shown(next)}: expected ',' or '}'`, this.i - 1);
    }
  }

  private array(depth: number): void {
    this.i++; // [
    this.ws();
    if (this.s[this.i] === "]") {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] === "]") throw new Problem("Trailing comma before ']'", this.i);
      this.value(depth);
      this.ws();
      const next = this.s[this.i];
      if (next === undefined) this.end("expected ',' or ']'");
      this.i++;
      if (next === "]") return;
      if (next !== ",") throw new Problem(`Unexpected ${shown(next)}: expected ',' or ']'`, this.i - 1);
    }
  }

  private string(): void {
    const start = this.i;
    this.i++; // opening quote
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) throw new Problem("Unterminated string: a closing \" is missing", start);
      if (c === '"') {
        this.i++;
        return;
      }
      if (c === "\\") {
        const e = this.s[this.i + 1];
        if (e === undefined) this.end("unterminated escape");
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i + 2, this.i + 6))) {
            throw new Problem("Invalid \\u escape: it needs four hex digits", this.i);
          }
          this.i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e)) throw new Problem(`Invalid escape '\\${e}' in a string`, this.i);
        this.i += 2;
        continue;
      }
      if (c < " ") {
        throw new Problem(`${c === "\n" ? "A line break" : "A control character"} inside a string must be escaped (\\n, \\t, …)`, this.i);
      }
      this.i++;
    }
  }

  private number(): void {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.i));
    const text = m?.[0] ?? "";
    if (text === "" || text === "-") throw new Problem("Invalid number", this.i);
    const after = this.s[this.i + text.length];
    if (after !== undefined && /[0-9.eE+-]/.test(after)) {
      throw new Problem("Invalid number (leading zeros, a lone '.' or a bad exponent)", this.i);
    }
    this.i += text.length;
  }
}

/**
 * Pretty-prints valid JSON text with two-space indentation, as
 * `JSON.stringify(JSON.parse(text), null, 2)` would, but keeping every number and string
 * exactly as written. Invalid text comes back unchanged.
 */
export function prettyJson(text: string): string {
  if (checkJson(text) !== null) return text;
  const out: string[] = [];
  let depth = 0;
  const newline = () => "\n" + "  ".repeat(depth);
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? "";
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out.push(text.slice(i, j + 1));
      i = j;
    } else if (c === "{" || c === "[") {
      let j = i + 1;
      while (" \t\n\r".includes(text[j] ?? "x")) j++;
      const close = c === "{" ? "}" : "]";
      if (text[j] === close) {
        out.push(c + close);
        i = j;
      } else {
        depth++;
        out.push(c + newline());
      }
    } else if (c === "}" || c === "]") {
      depth--;
      out.push(newline() + c);
    } else if (c === ",") {
      out.push("," + newline());
    } else if (c === ":") {
      out.push(": ");
    } else if (!" \t\n\r".includes(c)) {
      out.push(c);
    }
  }
  return out.join("");
}

/** Valid JSON text on one line with insignificant whitespace removed; other text unchanged. */
export function compactJson(text: string): string {
  if (checkJson(text) !== null) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? "";
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (!" \t\n\r".includes(c)) {
      out += c;
    }
  }
  return out;
}

/** The first `max` characters of `text` on one line, with "…" when something was cut. */
export function excerpt(text: string, max = 60): string {
  const oneLine = text.replace(/\s*\n\s*/g, " ");
  const chars = Array.from(oneLine);
  return chars.length <= max ? oneLine : chars.slice(0, max - 1).join("") + "…";
}

/** Whether a value is worth collapsing: long, or a non-empty array or object. */
export function isCollapsible(json: string, max = 60): boolean {
  const t = json.trim();
  if (Array.from(t).length > max) return true;
  return (t.startsWith("{") && t !== "{}") || (t.startsWith("[") && t !== "[]");
}
