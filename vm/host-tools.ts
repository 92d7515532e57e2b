// Host binaries vm/ needs, and the Debian package that provides each, so a missing tool turns into
// one exact `apt-get install` line instead of an ENOENT deep inside a build.
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { InfraError } from './errors.ts';

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

/**
 * The Debian mirror this host already uses: env NETLAB_MIRROR, else the first `URIs:` of a deb822
 * source in /etc/apt/sources.list.d/*.sources (security archives skipped), else the first `deb` line
 * of /etc/apt/sources.list. Never a hard-coded host: on machines whose only way out is their own
 * mirror, that is the one that works.
 */
export function debianMirror(opts: { env?: NodeJS.ProcessEnv; aptDir?: string } = {}): string {
  const env = opts.env ?? process.env;
  if (env.NETLAB_MIRROR && env.NETLAB_MIRROR.trim().length > 0) return env.NETLAB_MIRROR.trim().replace(/\/+$/, '');
  const aptDir = opts.aptDir ?? '/etc/apt';
  const found = mirrorsFromAptConfig(aptDir);
  if (found.length > 0) return found[0]!;
  throw new InfraError(`no Debian mirror found in ${aptDir}/sources.list.d/*.sources or ${aptDir}/sources.list`, {
    fix: 'set NETLAB_MIRROR to a Debian mirror URI, e.g. NETLAB_MIRROR=http://<mirror>/debian',
  });
}

/** Candidate mirror URIs from an apt configuration folder, best first (pure apart from reading files). */
export function mirrorsFromAptConfig(aptDir: string): string[] {
  const out: string[] = [];
  const isSecurity = (uri: string, suites: string[]) =>
    /security/.test(uri) || suites.some((s) => s.endsWith('-security') || s.endsWith('/updates'));
  let files: string[] = [];
  try {
    files = readdirSync(join(aptDir, 'sources.list.d')).filter((f) => f.endsWith('.sources')).sort();
  } catch { /* none */ }
  for (const f of files) {
    let text = '';
    try { text = readFileSync(join(aptDir, 'sources.list.d', f), 'utf8'); } catch { continue; }
    out.push(...mirrorsFromDeb822(text).filter((s) => !isSecurity(s.uri, s.suites)).map((s) => s.uri));
  }
  for (const file of [join(aptDir, 'sources.list'), ...listFiles(join(aptDir, 'sources.list.d'))]) {
    let text = '';
    try { text = readFileSync(file, 'utf8'); } catch { continue; }
    out.push(...mirrorsFromOneLine(text).filter((s) => !isSecurity(s.uri, s.suites)).map((s) => s.uri));
  }
  return [...new Set(out.map((u) => u.replace(/\/+$/, '')))];
}

function listFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.list')).sort().map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** `URIs:`/`Suites:` of each deb822 stanza of type deb (Enabled: no skipped). */
export function mirrorsFromDeb822(text: string): { uri: string; suites: string[] }[] {
  const out: { uri: string; suites: string[] }[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) fields[m[1]!.toLowerCase()] = m[2]!.trim();
    }
    if (!fields.uris || !(fields.types ?? '').split(/\s+/).includes('deb')) continue;
    if ((fields.enabled ?? 'yes').toLowerCase() === 'no') continue;
    const suites = (fields.suites ?? '').split(/\s+/).filter(Boolean);
    for (const uri of fields.uris.split(/\s+/)) if (/^(https?|file):/.test(uri)) out.push({ uri, suites });
  }
  return out;
}

/** `deb [opts] URI suite comp...` lines of a one-line-style sources.list. */
export function mirrorsFromOneLine(text: string): { uri: string; suites: string[] }[] {
  const out: { uri: string; suites: string[] }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m && /^(https?|file):/.test(m[1]!)) out.push({ uri: m[1]!, suites: [m[2]!] });
  }
  return out;
}
