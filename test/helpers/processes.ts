import { readdirSync, readFileSync } from 'node:fs';

/** PIDs of QEMU processes whose command line names `dir` (their overlays and sockets live there). */
export function qemuPidsUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.startsWith('qemu-system') || cmd.includes('/qemu-system')) if (cmd.includes(dir)) pids.push(Number(entry));
    } catch { /* exited meanwhile */ }
  }
  return pids;
}

export function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}
