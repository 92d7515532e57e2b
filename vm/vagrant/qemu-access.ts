// Under the Vagrant backend libvirt starts QEMU as its own unprivileged user (libvirt-qemu, set by
// scripts/setup-vagrant.sh's qemu.conf), not as root: a guest that breaks out of the emulator holds no
// privileges. Such a QEMU opens every file itself, by path, after it changed its ids, so the run folder
// is made passable for that user's group, and what the machines boot is placed inside it:
// - the kernel and initrd are copies: libvirt's DAC driver (dynamic_ownership) hands them to
//   libvirt-qemu for the machine's life, which must not touch the shared kernel cache;
// - the modules disk is a hard link (155 MB, read-only, already readable by anyone): it is passed as a
//   raw -drive libvirt does not know about, so nothing relabels it.
// The disks libvirt creates in the run's pool (box volume, overlays) it hands over itself.
import { readFileSync } from 'node:fs';
import { copyFile, link, mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InfraError } from '../errors.ts';
import { passableByOthers, type QemuIdentity } from '../qemu/identity.ts';
import type { KernelInfo } from '../types.ts';

/** The account libvirt runs QEMU as (qemu.conf `user`/`group`). */
export const LIBVIRT_QEMU_ACCOUNT = 'libvirt-qemu';

/** libvirt-qemu's uid and gid, from /etc/passwd (scripts/setup-vagrant.sh creates the account). */
export function libvirtQemuIdentity(passwd = readFileSync('/etc/passwd', 'utf8')): QemuIdentity {
  const entry = passwd.split('\n').map((l) => l.split(':')).find((f) => f[0] === LIBVIRT_QEMU_ACCOUNT);
  if (!entry) {
    throw new InfraError(`no ${LIBVIRT_QEMU_ACCOUNT} account on this machine: libvirt runs the Vagrant backend's QEMU as that user`,
      { fix: 'bash scripts/setup-vagrant.sh (run as root) creates it and writes libvirt\'s qemu.conf' });
  }
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

/** Fails with the fix when libvirt's QEMU could not reach the run folders under `runtimeRoot`. */
export function assertRuntimeReachable(runtimeRoot: string): void {
  if (passableByOthers(dirname(runtimeRoot))) return;
  throw new InfraError(`libvirt's QEMU (user ${LIBVIRT_QEMU_ACCOUNT}) cannot reach the runtime folder ${runtimeRoot}: a folder above it is closed to other users`,
    { fix: 'set NETLAB_RUNTIME_DIR to a folder under /tmp, or unset it' });
}

export interface BootFiles { kernel: string; initrd: string; modulesDisk: string }

/** Each distinct kernel's files, placed in `runDir/boot/N/` (see above); keyed by the cache's kernel path. */
export async function stageBootFiles(runDir: string, kernels: KernelInfo[]): Promise<Map<string, BootFiles>> {
  const staged = new Map<string, BootFiles>();
  for (const k of kernels) {
    if (staged.has(k.kernel)) continue;
    const dir = join(runDir, 'boot', String(staged.size));
    await mkdir(dir, { recursive: true, mode: 0o750 });
    const files: BootFiles = { kernel: join(dir, basename(k.kernel)), initrd: join(dir, basename(k.initrd)), modulesDisk: join(dir, basename(k.modulesDisk)) };
    await copyFile(k.kernel, files.kernel);
    await copyFile(k.initrd, files.initrd);
    // A copy where a link cannot be made (the cache on another file system).
    await link(k.modulesDisk, files.modulesDisk).catch(() => copyFile(k.modulesDisk, files.modulesDisk));
    staged.set(k.kernel, files);
  }
  return staged;
}
