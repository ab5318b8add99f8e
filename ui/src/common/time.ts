// Times as people read them: local, short when recent, exact on hover.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const two = (n: number) => String(n).padStart(2, "0");

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/**
 * A local time, as short as is clear: "14:03:22" today, "Mar 4 14:03" this year,
 * "2023-03-04 14:03" before that. `ms` is milliseconds since the epoch.
 */
export function formatTime(ms: number, now: number = Date.now()): string {
  if (!Number.isFinite(ms)) return "—";
  const d = new Date(ms);
  const n = new Date(now);
  const hm = `${two(d.getHours())}:${two(d.getMinutes())}`;
  if (sameDay(d, n)) return `${hm}:${two(d.getSeconds())}`;
  if (d.getFullYear() === n.getFullYear()) return `${MONTHS[d.getMonth()]} ${d.getDate()} ${hm}`;
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${hm}`;
}

/** The full local time to the millisecond, for tooltips: "2024-03-04 14:03:22.123". */
export function formatFullTime(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  const d = new Date(ms);
  const date = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
  const time = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return `${date} ${time}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

/** How long something took: "12 ms", "1.5 s", "2 min 5 s". */
export function formatDuration(startMs: number, endMs: number): string {
  const ms = Math.max(0, endMs - startMs);
  if (!Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const min = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return s === 0 ? `${min} min` : `${min} min ${s} s`;
}
