import { describe, expect, it } from "vitest";
import { activityLabel, failureText, fileName, readingText } from "./ingest";

describe("ingest progress on a morph", () => {
  it("names each stage, with the embedding count", () => {
    const path = "/home/u/notes.md";
    expect(activityLabel({ path, stage: "reading" })).toBe("reading");
    expect(activityLabel({ path, stage: "embedding", done: 32, total: 40 })).toBe("embedding 32/40");
    expect(activityLabel({ path, stage: "indexing" })).toBe("indexing");
    expect(
      activityLabel({ path, stage: "fetching", file: "model.safetensors", done_mb: 12, total_mb: 86 }),
    ).toBe("fetching the model 12/86 MB");
    expect(
      activityLabel({ path, stage: "fetching", file: "config.json", done_mb: 0, total_mb: null }),
    ).toBe("fetching the model 0/? MB");
    expect(activityLabel({ path, stage: "done", outcome: "added", chunks: 3 })).toBeNull();
    expect(activityLabel({ path, stage: "failed", error: "x" })).toBeNull();
  });

  it("says which file of a drop of several it is at", () => {
    const path = "/home/u/notes.md";
    expect(activityLabel({ path, stage: "chunking" }, { n: 2, of: 5 })).toBe("2/5 chunking");
    expect(activityLabel({ path, stage: "chunking" }, { n: 1, of: 1 })).toBe("chunking");
    expect(readingText("BRICK", path, { n: 2, of: 5 })).toBe("BRICK is reading notes.md (2 of 5)…");
    expect(readingText("BRICK", path, { n: 1, of: 1 })).toBe("BRICK is reading notes.md…");
  });

  it("shows files by name", () => {
    expect(fileName("/a/b/report.pdf")).toBe("report.pdf");
    expect(fileName("C:\\docs\\x.txt")).toBe("x.txt");
  });

  it("words a file's error by the file's name", () => {
    expect(failureText("/d/latin1.txt", "/d/latin1.txt is not valid UTF-8")).toBe(
      "latin1.txt is not valid UTF-8",
    );
    expect(failureText("/d/x.txt", "the image is closed")).toBe("x.txt: the image is closed");
  });
});
