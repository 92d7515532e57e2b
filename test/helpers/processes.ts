import { readdirSync, readFileSync } from 'node:fs';

/** PIDs of processes whose program is `program` and whose command line names `dir`. */
export function processesNaming(program: string, dir: string): number[] {
  const pids: number[] = [];
  // QEMU option lists carry a path with its commas doubled (vm/qemu/args.ts optValue).
  const escaped = dir.replaceAll(',', ',,');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.split('/').pop() === program && argv.some((a) => a.includes(dir) || a.includes(escaped))) pids.push(Number(entry));
    } catch { /* exited meanwhile */ }
  }
  return pids;
}

/** PIDs of QEMU processes whose command line names `dir` (their overlays and sockets live there). */
export function qemuPidsUnder(dir: string): number[] {
  return processesNaming('qemu-system-x86_64', dir);
}

export function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}
