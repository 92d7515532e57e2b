// Whom QEMU runs as. Under software emulation QEMU's own security policy does not hold (a guest
// that breaks out of the emulator is outside it), and a submission is hostile root code: so when
// netlab-run is root, each VM set's QEMU processes drop to a user and group of their own right after
// they have opened their files (`-run-with user=UID:GID`, QEMU 9.1+). A QEMU that escapes then holds
// no privileges, cannot touch the host's files, nor signal or trace another student's QEMU.
// The ids belong to no account: nothing on the host is theirs but what this set hands them (its run
// folder's sockets, a folder to save a snapshot into).
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { qemuVersion } from './snapshot.ts';

export interface QemuIdentity { uid: number; gid: number }

/** Far above any account's id (Debian's dynamic ranges end at 65533 and 59999). */
const BASE = 1_900_000_000;
let next = 0;

/** Whether `qemu --version` text names a QEMU with `-run-with user=`. */
export function supportsRunWith(versionLine: string): boolean {
  const m = /version (\d+)\.(\d+)/.exec(versionLine);
  return !!m && Number(m[1]) * 100 + Number(m[2]) >= 901;
}

/**
 * The identity for a new VM set, or undefined when QEMU runs as netlab-run's own user: netlab-run is
 * not root (QEMU then runs unprivileged already), NETLAB_QEMU_USER=root asks for it, or this QEMU
 * cannot drop privileges itself (older than 9.1).
 */
export async function qemuIdentity(env: NodeJS.ProcessEnv = process.env, runtimeRoot?: string): Promise<QemuIdentity | undefined> {
  if ((process.getuid?.() ?? 1) !== 0 || env.NETLAB_QEMU_USER === 'root') return undefined;
  if (!supportsRunWith(await qemuVersion())) return undefined;
  // A dropped QEMU opens files in its run folder by path (a snapshot's state, its overlay again after
  // a migration): every folder above the runtime root must let others pass (the default, under /tmp,
  // does; a runtime folder inside a private 0700 folder does not, and QEMU then stays root).
  if (runtimeRoot && !passableByOthers(dirname(runtimeRoot))) return undefined;
  const id = BASE + (process.pid % 1_000_000) * 100 + (next++ % 100);
  return { uid: id, gid: id };
}

/** Whether a user with no relation to these folders can pass through `dir` and each folder above it. */
export function passableByOthers(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    try { if ((statSync(d).mode & 0o001) === 0) return false; } catch { return false; }
    if (dirname(d) === d) return true;
  }
}
