// Steps both builds take, the image's (image.ts) and the kernels' (kernel.ts): each builds in a
// `.tmp-<pid>-<rand>` folder and renames it into place when complete, so a killed build never looks
// valid and two concurrent builds cannot corrupt each other; a later build sweeps up the leftovers.
import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { InfraError } from '../errors.ts';
import { processAlive } from '../runtime.ts';

const GUEST_DIR = join(dirname(fileURLToPath(import.meta.url)), 'guest-files');

export function guestFile(name: 'netlab-init' | 'initramfs-init' | 'netlab-trusted' | 'netlab-agent' | 'netlab-dmesg'): string {
  return join(GUEST_DIR, name);
}

/**
 * Renames a complete build folder into place. Returns false when another process published the same
 * recipe first (its copy is kept, ours removed). `replace` moves an existing folder aside first.
 */
export async function publishDir(tmp: string, final: string, opts: { replace?: boolean } = {}): Promise<boolean> {
  if (opts.replace) {
    const trash = `${final}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await rename(final, trash);
      await safeRemove(trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  try {
    await rename(tmp, final);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      await safeRemove(tmp);
      return false;
    }
    throw err;
  }
}

/** rm -rf, refusing to descend into anything still mounted below `path` (a killed mmdebstrap may leave /proc or /dev mounts). */
export async function safeRemove(path: string): Promise<void> {
  const mounts = await mountsBelow(path);
  if (mounts.length > 0) {
    throw new InfraError(`refusing to remove ${path}: mounts left below it (${mounts.join(', ')})`, {
      fix: `umount -R ${mounts.map((m) => `'${m}'`).join(' ')} && rm -rf '${path}'`,
    });
  }
  await rm(path, { recursive: true, force: true });
}

async function mountsBelow(path: string): Promise<string[]> {
  let text = '';
  try { text = await readFile('/proc/self/mountinfo', 'utf8'); } catch { return []; }
  const prefix = path.endsWith('/') ? path : `${path}/`;
  return text.split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === path || p.startsWith(prefix));
}

/** Removes `<name>.tmp-<pid>-*` / `.old-<pid>-*` folders whose building process is gone. */
export async function removeStaleBuilds(parent: string): Promise<void> {
  let names: string[] = [];
  try { names = await readdir(parent); } catch { return; }
  for (const n of names) {
    const m = /\.(?:tmp|old)-(\d+)-[0-9a-f]+$/.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    await safeRemove(join(parent, n)).catch(() => { /* leave it: mounts below, or a race */ });
  }
}

export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** Runs a command, streaming its output lines (stdout+stderr) to onLine; failure → Error with the last lines. */
export async function runLogged(
  cmd: string,
  args: string[],
  opts: { signal?: AbortSignal; onLine?: (line: string) => void; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  const tail: string[] = [];
  const sub = execa(cmd, args, {
    cancelSignal: opts.signal, cwd: opts.cwd, env: opts.env, all: true, buffer: false, reject: false,
    stdin: 'ignore', forceKillAfterDelay: 5000,
  });
  for await (const line of sub.iterable({ from: 'all' })) {
    const s = String(line);
    tail.push(s);
    if (tail.length > 25) tail.shift();
    opts.onLine?.(s);
  }
  const r = await sub;
  if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted');
  if (r.exitCode !== 0) {
    throw new Error(`${cmd} exited with ${r.exitCode ?? r.signal}:\n${tail.join('\n')}`);
  }
}

export async function exists(p: string): Promise<boolean> {
  try { await lstat(p); return true; } catch { return false; }
}
