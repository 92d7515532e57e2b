import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheRoot, recipeHash } from '../build/cache.ts';
import { InfraError } from '../errors.ts';
import type { Accel, NicSpec } from './args.ts';
import type { Qmp } from './qmp.ts';
import type { ImageInfo, KernelInfo } from '../types.ts';

// A ready snapshot of a booted guest: its RAM (a sparse file), its device state (a QEMU migration
// stream without the RAM) and a frozen copy of its disk overlay. Restoring one skips the whole boot.
// Keyed by everything the state depends on, so a changed image, kernel, QEMU or machine shape makes a
// new one.

export interface SnapshotShape {
  image: ImageInfo;
  kernel: KernelInfo;
  memoryMb: number;
  cpus: number;
  accel: Accel;
  nics: NicSpec[];
  /** The lock's kernel parameters: a snapshot is of a kernel locked one way. */
  lock: string[];
  /** The machine's boot steps: a snapshot holds what they started. */
  boot: string[];
}

export interface Snapshot {
  dir: string; state: string; ram: string; disk: string;
  /** An empty qcow2 over `disk`: a restore copies it (~1 ms) instead of running qemu-img (~13 ms). */
  overlay: string;
  cmdline: string[];
}

let qemuVersionCache: Promise<string> | undefined;
export function qemuVersion(): Promise<string> {
  qemuVersionCache ??= execa('qemu-system-x86_64', ['--version']).then((r) => r.stdout.split('\n')[0] ?? '', () => 'unknown');
  return qemuVersionCache;
}

// A restored guest keeps the disks' contents it had cached in RAM: if a file under it was rebuilt
// since (same kernel version, new modules disk), reads go wrong ("Bad message"). So the key names each
// file's identity (path, size, mtime, inode), not only its version.
async function fileIdentity(path: string): Promise<string> {
  // A missing file is QEMU's to report, with the console; here it only makes a key no snapshot has.
  const st = await stat(path).catch(() => undefined);
  return st ? `${path}:${st.size}:${st.mtimeMs}:${st.ino}` : `${path}:missing`;
}

export async function snapshotKey(s: SnapshotShape): Promise<string> {
  const files = await Promise.all([s.image.rootfs, s.kernel.kernel, s.kernel.initrd, s.kernel.modulesDisk].map(fileIdentity));
  return recipeHash('snapshot-v8', s.image.recipeHash, s.kernel.version, files, s.memoryMb, s.cpus, s.accel,
    s.nics.map((n) => n.mtu ?? 1500), s.lock, await qemuVersion(), ...(s.boot.length ? [s.boot] : []));
}

export function snapshotsEnabled(): boolean {
  return process.env.NETLAB_SNAPSHOTS !== '0';
}

function dirFor(key: string) { return join(cacheRoot(), 'snapshots', key); }

export async function findSnapshot(key: string): Promise<Snapshot | undefined> {
  const dir = dirFor(key);
  try {
    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as { cmdline: string[] };
    const snap = { dir, state: join(dir, 'state'), ram: join(dir, 'ram'), disk: join(dir, 'disk.qcow2'), overlay: join(dir, 'overlay.qcow2'), cmdline: meta.cmdline };
    return [snap.state, snap.ram, snap.disk, snap.overlay].every((f) => existsSync(f)) ? snap : undefined;
  } catch {
    return undefined;
  }
}

export async function dropSnapshot(key: string): Promise<void> {
  await rm(dirFor(key), { recursive: true, force: true });
}

/**
 * Saves a running, ready guest whose RAM is the shared file `ramFile` (no SSH session open: connections
 * do not survive) and lets it run on. Written to a temporary folder and renamed, so a concurrent or
 * killed save never leaves half a snapshot. The RAM is not in the stream (x-ignore-shared): it is the
 * file, copied while the guest is stopped, its zero blocks left as holes.
 */
export async function saveSnapshot(key: string, qmp: Qmp, overlay: string, ramFile: string, cmdline: string[], stagingDir?: string): Promise<Snapshot> {
  const final = dirFor(key);
  const tmp = `${final}.tmp-${randomBytes(4).toString('hex')}`;
  await mkdir(tmp, { recursive: true });
  try {
    await qmp.execute('stop');
    await leaveRamOut(qmp);
    // stagingDir: a folder the QEMU may write when it runs as a user of its own (the cache is not one).
    await qmp.execute('migrate', { channels: fileChannel(join(stagingDir ?? tmp, 'state')) });
    const r = await qmp.until<{ status?: string; 'error-desc'?: string }>('query-migrate',
      (m) => m.status === 'completed' || m.status === 'failed', 60_000, 'the snapshot to be written');
    if (r.status !== 'completed') throw new InfraError(`snapshot failed: ${r['error-desc'] ?? r.status}`);
    if (stagingDir) await copyFile(join(stagingDir, 'state'), join(tmp, 'state'));
    const ram = await execa('cp', ['--sparse=always', ramFile, join(tmp, 'ram')], { reject: false });
    if (ram.exitCode !== 0) throw new InfraError(`snapshot failed: cannot copy the guest's RAM: ${ram.stderr}`);
    // Migration flushed and inactivated the disk, so the overlay is consistent while the guest is stopped.
    await copyFile(overlay, join(tmp, 'disk.qcow2'));
    await emptyOverlay(join(tmp, 'disk.qcow2'), join(final, 'disk.qcow2'), join(tmp, 'overlay.qcow2'));
    await writeFile(join(tmp, 'meta.json'), JSON.stringify({ cmdline, savedAt: new Date().toISOString() }));
    await mkdir(join(cacheRoot(), 'snapshots'), { recursive: true });
    try {
      await rename(tmp, final);
    } catch {
      await rm(tmp, { recursive: true, force: true }); // another run saved the same snapshot first
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    await qmp.execute('cont').catch(() => {});
  }
  return (await findSnapshot(key))!;
}

// The saving and the loading QEMU must agree on the stream's format: both leave shared-file RAM out.
function leaveRamOut(qmp: Qmp): Promise<unknown> {
  return qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: true }] });
}

/** QMP steps that load a snapshot into a QEMU started with `-incoming defer` and its RAM file mapped. */
export async function loadSnapshotState(qmp: Qmp, snap: Snapshot): Promise<void> {
  await leaveRamOut(qmp);
  await qmp.execute('migrate-incoming', { channels: fileChannel(snap.state) });
}

// The migration stream in a plain file, read and written by QEMU itself: no `exec:` shell and `cat`
// to start (two programs per restore), and no path to quote.
function fileChannel(filename: string): unknown[] {
  return [{ 'channel-type': 'main', addr: { transport: 'file', filename, offset: 0 } }];
}

// Made beside the disk it will lie over, then pointed (header only, -u) at where that disk will be
// once the snapshot folder is renamed into place.
async function emptyOverlay(disk: string, finalDisk: string, overlay: string): Promise<void> {
  for (const args of [
    ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', disk, overlay],
    ['rebase', '-u', '-F', 'qcow2', '-b', finalDisk, overlay],
  ]) {
    const r = await execa('qemu-img', args, { reject: false });
    if (r.exitCode !== 0) throw new InfraError(`snapshot failed: qemu-img ${args[0]}: ${r.stderr}`);
  }
}

/** One command that makes a restored clone its own machine: clock, name, MACs, fresh randomness. */
export function restoreFixupCommand(name: string, nics: NicSpec[]): string {
  const now = Date.now();
  // Every process costs tens of milliseconds on an emulated CPU: bash builtins, one `date`, one `ip -b`.
  const seed = [...randomBytes(64)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
  const ipBatch = nics.map((n, i) => `link set dev eth${i + 1} address ${n.mac}`).join('\n');
  return [
    `date -s @${Math.floor(now / 1000)}.${String(now % 1000).padStart(3, '0')} >/dev/null`,
    `echo ${name} > /proc/sys/kernel/hostname`,
    `echo ${name} > /etc/hostname`,
    `printf '127.0.0.1\\tlocalhost\\n127.0.1.1\\t%s\\n' ${name} > /etc/hosts`,
    ...(nics.length ? [`printf '${ipBatch.replace(/\n/g, '\\n')}\\n' | ip -b -`] : []),
    `printf '${seed}' > /dev/urandom`,
  ].join(' && ');
}
