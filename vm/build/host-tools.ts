// Host binaries vm/ needs, and the Debian package that provides each, so a missing tool turns into
// one exact `apt-get install` line instead of an ENOENT deep inside a build.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { InfraError } from '../errors.ts';

export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  mmdebstrap: 'mmdebstrap',
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  busybox: 'busybox-static',
  depmod: 'kmod',
  'mkfs.ext4': 'e2fsprogs',
  debugfs: 'e2fsprogs',
  cpio: 'cpio',
  tcpdump: 'tcpdump',
  vde_switch: 'vde2',
  'dpkg-deb': 'dpkg',
  'apt-get': 'apt',
  'apt-cache': 'apt',
  'ssh-keygen': 'openssh-client',
  setpriv: 'util-linux',
  ssh: 'openssh-client',
  zstd: 'zstd',
  xz: 'xz-utils',
  lz4: 'lz4',
  bzip2: 'bzip2',
  gzip: 'gzip',
};

export const SBIN_DIRS = ['/usr/sbin', '/sbin'];

/** Directories searched: PATH, then the sbin folders a non-root PATH often lacks. Whoever spawns the
 * tools must add the same folders to PATH (see withSbinPath), so what is found here also runs. */
export function searchDirs(pathEnv: string | undefined = process.env.PATH): string[] {
  const dirs = (pathEnv ?? '').split(delimiter).filter((d) => d.length > 0);
  for (const extra of SBIN_DIRS) if (!dirs.includes(extra)) dirs.push(extra);
  return dirs;
}

/** Adds the sbin folders to this process's PATH, so spawned tools resolve as searchDirs found them. */
export function withSbinPath(): void {
  process.env.PATH = searchDirs().join(delimiter);
}

/** Absolute path of an executable, or undefined. */
export function findTool(tool: string, dirs: string[] = searchDirs()): string | undefined {
  if (tool.includes('/')) return isExecutable(tool) ? tool : undefined;
  for (const d of dirs) {
    const p = join(d, tool);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Debian packages that provide `tools` (sorted, deduplicated); unknown tools map to themselves. */
export function packagesFor(tools: string[]): string[] {
  return [...new Set(tools.map((t) => TOOL_PACKAGES[t] ?? t))].sort();
}

/** The apt command that installs what is missing. */
export function installCommand(missing: string[]): string {
  return `apt-get install -y ${packagesFor(missing).join(' ')}`;
}

/**
 * Throws an InfraError naming every missing binary, with the apt command that fixes it.
 * Returns the resolved absolute paths (tool → path) when all are present.
 */
export function requireTools(tools: string[], opts: { dirs?: string[] } = {}): Record<string, string> {
  const dirs = opts.dirs ?? searchDirs();
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const t of tools) {
    const p = findTool(t, dirs);
    if (p) found[t] = p;
    else missing.push(t);
  }
  if (missing.length > 0) {
    throw new InfraError(
      `missing host tool${missing.length > 1 ? 's' : ''}: ${missing.join(', ')} (package${packagesFor(missing).length > 1 ? 's' : ''} ${packagesFor(missing).join(', ')})`,
      { fix: installCommand(missing) },
    );
  }
  return found;
}
