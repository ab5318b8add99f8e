// Specification of time formatting (local time; dates built from local components).
import { describe, expect, it } from "vitest";
import { formatDuration, formatFullTime, formatTime } from "./time";

const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) => new Date(y, mo - 1, d, h, mi, s, ms).getTime();

describe("formatTime", () => {
  const now = at(2024, 3, 4, 18, 0, 0);
  it("shows only the time today", () => {
    expect(formatTime(at(2024, 3, 4, 14, 3, 22), now)).toBe("14:03:22");
  });
  it("adds the day this year", () => {
    expect(formatTime(at(2024, 1, 9, 7, 5), now)).toBe("Jan 9 07:05");
  });
  it("adds the year before that", () => {
    expect(formatTime(at(2023, 12, 31, 23, 59), now)).toBe("2023-12-31 23:59");
  });
  it("copes with nonsense", () => {
    expect(formatTime(Number.NaN, now)).toBe("—");
  });
});

describe("formatFullTime", () => {
  it("is exact to the millisecond", () => {
    expect(formatFullTime(at(2024, 3, 4, 14, 3, 22, 7))).toBe("2024-03-04 14:03:22.007");
  });
});

describe("formatDuration", () => {
  it("scales its unit", () => {
    expect(formatDuration(0, 12)).toBe("12 ms");
    expect(formatDuration(0, 1500)).toBe("1.5 s");
    expect(formatDuration(0, 42_000)).toBe("42 s");
    expect(formatDuration(0, 125_000)).toBe("2 min 5 s");
    expect(formatDuration(0, 120_000)).toBe("2 min");
    expect(formatDuration(10, 0)).toBe("0 ms");
  });
});
