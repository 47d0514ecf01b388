import assert from "node:assert/strict";
import {
  CLOCK_TICKS,
  parseMachineCpu,
  parseOpenFileLimit,
  parsePortRange,
  parseStatCpu,
  parseStatusBytes,
} from "../../src/bench/procfs.ts";

Deno.test("parseStatCpu() adds utime and stime, counting fields after a command name with spaces", () => {
  const stat = "4242 (deno (main) x) S 1 4242 1 0 -1 4194304 97 0 0 0 250 50 0 0 20 0 9 0 178683 3133440 382";
  assert.equal(parseStatCpu(stat), 300 / CLOCK_TICKS);
  assert.throws(() => parseStatCpu("garbage"));
});

Deno.test("parseStatusBytes() reads VmRSS and VmHWM in bytes", () => {
  const status = "Name:\tdeno\nVmHWM:\t  108000 kB\nVmRSS:\t   90000 kB\nThreads:\t9\n";
  assert.equal(parseStatusBytes(status, "VmRSS"), 90000 * 1024);
  assert.equal(parseStatusBytes(status, "VmHWM"), 108000 * 1024);
  assert.equal(parseStatusBytes("Name:\tx\n", "VmRSS"), null);
});

Deno.test("parseMachineCpu() counts idle and iowait as not busy", () => {
  const stat = "cpu  100 1 50 800 40 0 9 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n";
  assert.deepEqual(parseMachineCpu(stat), { busy: 160, total: 1000 });
});

Deno.test("parsePortRange() counts the ports of ip_local_port_range, both ends included", () => {
  assert.equal(parsePortRange("32768\t60999\n"), 28_232);
  assert.equal(parsePortRange("1024 65535"), 64_512);
  assert.equal(parsePortRange("5000 4000"), null);
  assert.equal(parsePortRange("garbage"), null);
});

Deno.test("parseOpenFileLimit() reads the soft limit", () => {
  const limits = "Limit                     Soft Limit           Hard Limit           Units\n" +
    "Max open files            1024                 524288               files\n";
  assert.equal(parseOpenFileLimit(limits), 1024);
  assert.equal(
    parseOpenFileLimit("Max open files            unlimited            unlimited  files\n"),
    Infinity,
  );
  assert.equal(parseOpenFileLimit(""), null);
});
