import { chmod, chown, lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { InfraError } from './errors.ts';
import type { QemuIdentity } from './qemu/identity.ts';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

// Every run owns one folder under the runtime root holding its overlays, sockets and PID files.
// The folder records the owner's PID, so a later start can find runs whose owner was killed -9 and
// remove what they left (QEMU processes, sockets, overlays).

export function runtimeRoot(): string {
  return process.env.NETLAB_RUNTIME_DIR ?? join(tmpdir(), `netlab-run-${process.getuid?.() ?? 0}`);
}

export interface RunDir {
  path: string;
  id: string;
  /** The user and group this run's QEMU processes drop to (vm/qemu/identity.ts), if they do. */
  identity?: QemuIdentity;
}

/**
 * The runtime root, made if missing, and refused unless it is a real folder of ours that no one else
 * can write: another local user could pre-create it (or a symbolic link in its place) in the shared
 * temp folder and redirect our overlays, sockets and PID files. Its mode is set to 0711.
 */
export async function secureRuntimeRoot(root = runtimeRoot()): Promise<string> {
  await mkdir(root, { recursive: true, mode: 0o700 }).catch(() => {});
  const st = await lstat(root).catch(() => undefined);
  const uid = process.getuid?.() ?? 0;
  const fix = `remove ${root} (or point NETLAB_RUNTIME_DIR at a folder of your own)`;
  if (!st) throw new InfraError(`cannot create the runtime folder ${root}`, { fix: 'set NETLAB_RUNTIME_DIR to a writable folder' });
  if (st.isSymbolicLink()) throw new InfraError(`the runtime folder ${root} is a symbolic link: refusing to follow it`, { fix });
  if (!st.isDirectory()) throw new InfraError(`the runtime folder ${root} is not a folder`, { fix });
  if (st.uid !== uid) throw new InfraError(`the runtime folder ${root} belongs to uid ${st.uid}, not to this user (uid ${uid})`, { fix });
  // Traverse only for others: a QEMU that dropped to its own user reaches its run folder by name, and
  // no one can list or write the root.
  if ((st.mode & 0o777) !== 0o711) await chmod(root, 0o711);
  return root;
}

export async function createRunDir(label: string, identity?: QemuIdentity): Promise<RunDir> {
  const root = await secureRuntimeRoot();
  // Short names: unix socket paths must stay under 108 bytes.
  const id = `${label.replace(/[^a-z0-9-]/gi, '').slice(0, 12)}-${randomBytes(3).toString('hex')}`;
  const path = join(root, id);
  await mkdir(path, { mode: 0o700 });
  if (identity) {
    // The set's QEMU group may enter (not list or write); setgid: the sockets made inside belong to
    // that group, so the set's QEMUs can send to each other's link sockets and no one else can.
    await chown(path, process.getuid?.() ?? 0, identity.gid);
    await chmod(path, 0o2710);
  }
  await writeFile(join(path, 'owner.pid'), `${process.pid} ${processStartTime(process.pid) ?? ''}\n`);
  return { path, id, ...(identity ? { identity } : {}) };
}

/** A folder in the run folder that the set's QEMU may write (a snapshot's state is saved there). */
export async function qemuWritableDir(dir: RunDir, name: string): Promise<string> {
  const path = join(dir.path, name);
  await mkdir(path, { mode: 0o700 });
  if (dir.identity) await chown(path, dir.identity.uid, dir.identity.gid);
  return path;
}

export async function removeRunDir(dir: RunDir): Promise<void> {
  await rm(dir.path, { recursive: true, force: true });
}

/** Record a child PID so a later start can kill it if this process dies without cleaning up. */
export async function recordPid(dir: RunDir, name: string, pid: number, dropsToUid?: number): Promise<void> {
  // The uid it drops to (a QEMU with an identity of its own), which the reaper accepts besides ours.
  await writeFile(join(dir.path, `${name}.pid`), `${pid} ${processStartTime(pid) ?? ''}${dropsToUid !== undefined ? ` ${dropsToUid}` : ''}\n`);
}

// Start time in clock ticks since boot (field 22 of /proc/PID/stat) tells a live owner from a
// recycled PID.
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether a process of this pid exists now (any owner). */
export function processAlive(pid: number): boolean {
  return processStartTime(pid) !== undefined;
}

function ownerAlive(ownerLine: string): boolean {
  const [pidText, start] = ownerLine.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const now = processStartTime(pid);
  return now !== undefined && (!start || now === start);
}

/** True while the netlab-run that created this run folder is still alive. */
export function runOwnerAlive(runDirPath: string): boolean {
  try { return ownerAlive(readFileSync(join(runDirPath, 'owner.pid'), 'utf8')); } catch { return false; }
}

function processUid(pid: number): number | undefined {
  try { return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]); } catch { return undefined; }
}

function cmdlineOf(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '); } catch { return ''; }
}

/** Kill leftovers of runs whose owner is gone. Returns the run ids removed. */
export async function reapStaleRuns(): Promise<string[]> {
  const root = runtimeRoot();
  if (!existsSync(root)) return [];
  await secureRuntimeRoot(root);
  const removed: string[] = [];
  for (const id of await readdir(root)) {
    const path = join(root, id);
    let owner = '';
    try { owner = await readFile(join(path, 'owner.pid'), 'utf8'); } catch { /* half-created: stale */ }
    if (owner && ownerAlive(owner)) continue;
    for (const f of await readdir(path).catch(() => [] as string[])) {
      if (!f.endsWith('.pid') || f === 'owner.pid') continue;
      const [pidText, start, dropped] = (await readFile(join(path, f), 'utf8').catch(() => '')).trim().split(/\s+/);
      const pid = Number(pidText);
      const uids = [process.getuid?.() ?? 0, ...(dropped ? [Number(dropped)] : [])];
      // Only kill what is really ours: the very process recorded (its start time, so not a recycled
      // PID), still of this user (or the one it dropped to) and still naming this run folder.
      if (pid > 0 && start && processStartTime(pid) === start && uids.includes(processUid(pid) ?? -1) && cmdlineOf(pid).includes(path)) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      }
    }
    await rm(path, { recursive: true, force: true });
    removed.push(id);
  }
  return removed;
}
