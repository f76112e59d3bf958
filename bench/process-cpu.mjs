// CPU time by process, from /proc (Linux): what a phase of a bench cost each
// part of the machine, per request. The Worker's processes are `wrangler dev`
// and everything under it (the workerd runtime: the Worker, its Durable
// Objects and local D1; wrangler's own node process); this bench's process
// holds the client and the fake model. Kernel work (disk syncs) has no
// process to charge and is left out.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";

const ticksPerSecond = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

const NAMES = { workerd: "workerd (Worker, objects, D1)", node: "wrangler (node)" };

/** Whether this machine can say (Linux with /proc). */
export const canMeasure = existsSync("/proc/self/stat");

function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const name = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // Fields 4 (ppid), 14 (utime) and 15 (stime) of proc(5), counted after the name.
    return { name, ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null; // gone meanwhile
  }
}

/** CPU ms so far of `rootPid`'s tree by process name, and of this process. */
export function cpuSnapshot(rootPid) {
  const all = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(entry);
    if (s) all.set(Number(entry), s);
  }
  const inTree = (pid) => {
    for (let p = pid, hops = 0; p > 1 && hops < 16; hops++) {
      if (p === rootPid) return true;
      p = all.get(p)?.ppid ?? 0;
    }
    return false;
  };
  const byName = {};
  for (const [pid, s] of all) {
    if (!inTree(pid)) continue;
    const name = NAMES[s.name] ?? s.name;
    byName[name] = (byName[name] ?? 0) + (s.ticks * 1000) / ticksPerSecond;
  }
  const own = process.cpuUsage();
  byName["bench (client, fake model)"] = (own.user + own.system) / 1000;
  return byName;
}

/** ms of CPU per request by process between two snapshots. */
export function perRequest(before, after, requests) {
  return Object.fromEntries(
    Object.keys(after).map((k) => [k, Number(((after[k] - (before[k] ?? 0)) / requests).toFixed(2))]),
  );
}
