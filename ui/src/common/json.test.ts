// Specification of the JSON helpers: checking with located messages, exact pretty-printing.
import { describe, expect, it } from "vitest";
import { checkJson, compactJson, excerpt, isCollapsible, prettyJson } from "./json";

describe("checkJson", () => {
  it("accepts every kind of JSON value", () => {
    for (const ok of ["null", "true", "false", "0", "-1.5e3", '"x"', "[]", "{}", '{"a":[1,{"b":null}]}', ' [1, 2] ', "12345678901234567890", '"\\u00e9\\n"']) {
      expect(checkJson(ok), ok).toBeNull();
    }
  });

  it("says an empty text is empty", () => {
    expect(checkJson("   ")?.message).toMatch(/^Empty/);
  });

  it("names a bare word and suggests quotes", () => {
    const p = checkJson("hello world");
    expect(p?.message).toContain('"hello world"');
    expect(p?.column).toBe(1);
  });

  it("corrects literals from other languages", () => {
    expect(checkJson("True")?.message).toContain("lowercase");
    expect(checkJson("None")?.message).toContain("null");
    expect(checkJson("[1, NaN]")?.message).toContain("NaN");
    expect(checkJson("constructor")?.message).toContain('"constructor"');
  });

  it("locates a trailing comma by line and column", () => {
    const p = checkJson('{\n  "a": 1,\n}');
    expect(p?.message).toContain("Trailing comma before '}'");
    expect(p).toMatchObject({ line: 3, column: 1 });
    expect(checkJson("[1,]")?.message).toContain("Trailing comma before ']'");
  });

  it("explains unquoted and single-quoted property names", () => {
    expect(checkJson("{a: 1}")?.message).toContain("property names need double quotes");
    expect(checkJson("{'a': 1}")?.message).toContain("single quote");
  });

  it("reports missing separators and closers", () => {
    expect(checkJson('{"a" 1}')?.message).toContain("expected ':'");
    expect(checkJson("[1 2]")?.message).toContain("expected ',' or ']'");
    expect(checkJson('{"a": [1, 2}')?.message).toContain("expected ',' or ']'");
    expect(checkJson("[1, 2")?.message).toContain("Unexpected end of text");
    expect(checkJson('"abc')?.message).toContain("Unterminated string");
  });

  it("refuses text after the value, bad numbers, escapes and raw line breaks in strings", () => {
    expect(checkJson("1 2")?.message).toContain("after the value");
    expect(checkJson("01")?.message).toContain("Invalid number");
    expect(checkJson("1.")?.message).toContain("Invalid number");
    expect(checkJson("-")?.message).toContain("Invalid number");
    expect(checkJson('"\\x"')?.message).toContain("Invalid escape");
    expect(checkJson('"\\u12"')?.message).toContain("four hex digits");
    expect(checkJson('"a\nb"')?.message).toContain("line break");
  });

  it("agrees with JSON.parse on a range of inputs", () => {
    const samples = ["[", "]", "{", '{"a":1,"a":2}', "[[[]]]", '"\\/"', "1e+5", "1E-5", "-0", "+1", ".5", "[1,,2]", "nul", "\u00a0 1", "\t\n1\r"];
    for (const s of samples) {
      let parses = true;
      try {
        JSON.parse(s);
      } catch {
        parses = false;
      }
      expect(checkJson(s) === null, JSON.stringify(s)).toBe(parses);
    }
  });
});

describe("prettyJson", () => {
  it("matches JSON.stringify(…, null, 2) on ordinary values", () => {
    for (const s of ['{"a":1,"b":[1,2,{"c":"x, y: z"}],"d":{},"e":[]}', "[]", "{}", '"s"', "1", '[{"a":{"b":[null,true]}}]', '{"q":"\\"{[,:]}\\""}']) {
      expect(prettyJson(s)).toBe(JSON.stringify(JSON.parse(s), null, 2));
    }
  });

  it("keeps big integers and number spellings exactly", () => {
    expect(prettyJson('{"n":12345678901234567890,"f":1.50}')).toBe('{\n  "n": 12345678901234567890,\n  "f": 1.50\n}');
  });

  it("normalises existing whitespace, including empty containers with spaces", () => {
    expect(prettyJson('{ "a" : [ ] ,\n "b" : { } }')).toBe('{\n  "a": [],\n  "b": {}\n}');
  });

  it("leaves invalid text alone", () => {
    expect(prettyJson("{a:1}")).toBe("{a:1}");
  });

  it("round-trips with compactJson", () => {
    const s = '{"a":[1,{"b":"c d"}],"e":12345678901234567890}';
    expect(compactJson(prettyJson(s))).toBe(s);
  });
});

describe("excerpt and isCollapsible", () => {
  it("keeps short text and cuts long text with an ellipsis", () => {
    expect(excerpt("short")).toBe("short");
    const long = "x".repeat(100);
    const e = excerpt(long, 20);
    expect(Array.from(e)).toHaveLength(20);
    expect(e.endsWith("…")).toBe(true);
  });

  it("puts multi-line text on one line and does not split surrogate pairs", () => {
    expect(excerpt("a\n  b")).toBe("a b");
    expect(excerpt("😀".repeat(10), 5)).toBe("😀😀😀😀…");
  });

  it("collapses long values and non-empty containers only", () => {
    expect(isCollapsible("42")).toBe(false);
    expect(isCollapsible("[]")).toBe(false);
    expect(isCollapsible("{}")).toBe(false);
    expect(isCollapsible("[1]")).toBe(true);
    expect(isCollapsible('{"x":1}')).toBe(true);
    expect(isCollapsible(JSON.stringify("y".repeat(61)))).toBe(true);
  });
});
