import { describe, expect, it } from "vitest";

import type { BackupStatus } from "../bindings";
import { backupText, relative } from "./backup";

const now = 1_800_000_000_000;

function status(over: Partial<BackupStatus>): BackupStatus {
  return {
    dest: "/backups",
    every_hours: 6,
    full_every_days: 7,
    keep: 28,
    last: null,
    last_full_at: null,
    next_at: null,
    next_kind: null,
    running: null,
    error: null,
    error_at: null,
    ...over,
  };
}

describe("the backup badge", () => {
  it("is hidden when nothing is scheduled", () => {
    expect(backupText(status({ dest: null }), now)).toBeNull();
  });

  it("says when the last backup was made and the next is due", () => {
    const last = {
      id: "01X", kind: "incremental", parent: null, created: now - 5 * 60000, cycle: null,
      objects: 9, cycles: 1, chunks: 0, files: 3, stored_bytes: 10, total_bytes: 20, seconds: 0.1,
    };
    const shown = backupText(status({ last, next_at: now + 3 * 3600000 }), now);
    expect(shown).toEqual({ text: "Backup: last 5 min ago, next in 3.0 h", failed: false });
  });

  it("shows a failure, and the stage of one running", () => {
    expect(backupText(status({ error: "disk full", next_at: now }), now)).toEqual({
      text: "Backup FAILED: disk full (none yet, next now)",
      failed: true,
    });
    expect(backupText(status({ running: "backup: copying files" }), now)?.text).toBe(
      "Backup: backup: copying files",
    );
  });

  it("reads times both ways", () => {
    expect(relative(now + 30000, now)).toBe("now");
    expect(relative(now - 90 * 60000, now)).toBe("90 min ago");
  });
});
