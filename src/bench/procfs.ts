/**
 * Process and machine measurements from Linux /proc: CPU time of a process
 * or one of its threads, resident memory, the machine's busy time and the
 * open-file limit. The parsers are pure; the readers return null where /proc
 * is missing (another OS) or the process is gone, so the bench still runs.
 *
 * @module
 */

/** Clock ticks per second of /proc CPU times: USER_HZ is 100 on every mainstream Linux build. */
export const CLOCK_TICKS = 100;

/** utime + stime, in seconds, from the text of /proc/PID/stat (or /proc/PID/task/TID/stat). */
export function parseStatCpu(text: string): number {
  // The command name may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // Fields 14 (utime) and 15 (stime) of proc(5), counted from 1 with pid and comm as 1 and 2.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`Cannot parse /proc stat: ${JSON.stringify(text.slice(0, 80))}`);
  }
  return (utime + stime) / CLOCK_TICKS;
}

/** A `Vm*` field of /proc/PID/status in bytes, or null when absent. */
export function parseStatusBytes(text: string, field: "VmRSS" | "VmHWM"): number | null {
  const m = text.match(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m"));
  return m ? Number(m[1]) * 1024 : null;
}

/** Busy and total jiffies of all CPUs, from the first line of /proc/stat. */
export function parseMachineCpu(text: string): { busy: number; total: number } {
  const line = text.slice(0, text.indexOf("\n"));
  const [label, ...rest] = line.split(/\s+/);
  if (label !== "cpu") throw new Error(`Cannot parse /proc/stat: ${JSON.stringify(line)}`);
  const v = rest.map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = v[3] + (v[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** The soft open-file limit from /proc/self/limits, or null. */
export function parseOpenFileLimit(text: string): number | null {
  const m = text.match(/^Max open files\s+(\d+|unlimited)/m);
  if (!m) return null;
  return m[1] === "unlimited" ? Infinity : Number(m[1]);
}

/** Ports in an `ip_local_port_range` ("32768\t60999"): the ephemeral ports one source address has. */
export function parsePortRange(text: string): number | null {
  const m = text.trim().match(/^(\d+)\s+(\d+)$/);
  if (!m) return null;
  const [lo, hi] = [Number(m[1]), Number(m[2])];
  return hi >= lo ? hi - lo + 1 : null;
}

function read(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** CPU seconds used so far by process `pid` (all threads), or null. */
export function processCpu(pid: number): number | null {
  const text = read(`/proc/${pid}/stat`);
  return text === null ? null : parseStatCpu(text);
}

/**
 * CPU seconds used so far by this process's main thread, where JavaScript
 * and (in Deno) socket operations run: when it nears 100% of wall time, the
 * generator, not the server, limits the run.
 */
export function mainThreadCpu(): number | null {
  const text = read(`/proc/self/task/${Deno.pid}/stat`);
  return text === null ? null : parseStatCpu(text);
}

/** Resident and peak resident bytes of process `pid`, or null. */
export function processMemory(pid: number): { rss: number; peak: number } | null {
  const text = read(`/proc/${pid}/status`);
  if (text === null) return null;
  const rss = parseStatusBytes(text, "VmRSS");
  const peak = parseStatusBytes(text, "VmHWM");
  return rss === null || peak === null ? null : { rss, peak };
}

/** Busy and total CPU time of the whole machine, or null. */
export function machineCpu(): { busy: number; total: number } | null {
  const text = read("/proc/stat");
  return text === null ? null : parseMachineCpu(text);
}

/** This process's soft limit on open files, or null when unknown. */
export function openFileLimit(): number | null {
  const text = read("/proc/self/limits");
  return text === null ? null : parseOpenFileLimit(text);
}

/** Ephemeral ports per source address (/proc/sys/net/ipv4/ip_local_port_range), or null. */
export function ephemeralPortCount(): number | null {
  const text = read("/proc/sys/net/ipv4/ip_local_port_range");
  return text === null ? null : parsePortRange(text);
}

/** Number of logical CPUs the process may use. */
export function cpuCount(): number {
  return navigator.hardwareConcurrency || 1;
}
