// The world window's backup badge: when the last backup was made and the next is due, or the
// failure, from the backup manager (`telos backup schedule` sets it up).

import type { BackupStatus } from "../bindings";

/** "3 min ago", "in 2.0 h": how far `at` is from `now` (both ms since the epoch). */
export function relative(at: number, now: number): string {
  const mins = (at - now) / 60000;
  const ahead = mins > 0;
  const m = Math.abs(mins);
  const span = m < 1 ? "" : m < 120 ? `${Math.round(m)} min` : `${(m / 60).toFixed(1)} h`;
  if (span === "") return "now";
  return ahead ? `in ${span}` : `${span} ago`;
}

/** The badge's text, and whether it shows a failure; null when no backup is scheduled. */
export function backupText(s: BackupStatus, now: number): { text: string; failed: boolean } | null {
  if (s.dest === null) return null;
  if (s.running !== null) return { text: `Backup: ${s.running}`, failed: false };
  const last = s.last ? `last ${relative(s.last.created, now)}` : "none yet";
  const next = s.next_at !== null ? `, next ${relative(s.next_at, now)}` : "";
  if (s.error !== null) {
    return { text: `Backup FAILED: ${s.error} (${last}${next})`, failed: true };
  }
  return { text: `Backup: ${last}${next}`, failed: false };
}

/** Shows the badge in `el` (hidden when nothing is scheduled). */
export function showBackup(el: HTMLElement, s: BackupStatus, now = Date.now()): void {
  const shown = backupText(s, now);
  el.classList.toggle("hidden", shown === null);
  el.classList.toggle("failed", shown?.failed ?? false);
  el.textContent = shown?.text ?? "";
  el.title = s.dest ? `Backups into ${s.dest}` : "Backups";
}
