/**
 * The time shown in front of every line, the same in every front end. Pure
 * (the local time zone is the platform's).
 *
 * @module
 */

/** "09:30": hours and minutes of `ms` (epoch milliseconds) in local time. */
export function clock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}
